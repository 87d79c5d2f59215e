import { Registry, collectDefaultMetrics } from 'prom-client';

let registry: Registry | undefined;

/**
 * The process's own metrics (`process_*`, `nodejs_*`): one registry per
 * process, made on first use and held for the process's life. prom-client's
 * default collectors cannot be stopped (a GC observer, an event-loop-delay
 * timer), so they belong to the process, never to a component that stops:
 * one made per control plane and dropped at its stop left an enabled timer
 * for the garbage collector to free, and Node's exit then waited forever on it.
 */
export function processMetrics(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}

/** `registry`'s metrics and the process's, as one scrape. */
export function withProcessMetrics(registry: Registry): Registry {
  return Registry.merge([processMetrics(), registry]);
}
