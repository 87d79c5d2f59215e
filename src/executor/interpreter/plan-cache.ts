import { EXECUTION_PLAN_VERSION, type ExecutionPlan } from '../../plan/execution.ts';
import type { Outcome } from '../../protocols/outcome.ts';

/**
 * Plans as Envoy sends them, parsed once. Envoy sends the same few plans
 * (one per executor route) over and over, so the text is the key; the cache
 * is bounded so that a stream of changing configs cannot grow it forever.
 */
export class PlanCache {
  readonly #plans = new Map<string, Outcome<ExecutionPlan>>();
  readonly #capacity: number;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  get(text: string): Outcome<ExecutionPlan> {
    const cached = this.#plans.get(text);
    if (cached) return cached;
    const parsed = parsePlan(text);
    if (this.#plans.size >= this.#capacity) {
      const oldest = this.#plans.keys().next();
      if (oldest.done !== true) this.#plans.delete(oldest.value);
    }
    this.#plans.set(text, parsed);
    return parsed;
  }
}

/** A plan's JSON read as this executor's version of the contract, or why it cannot be. */
export function parsePlan(text: string): Outcome<ExecutionPlan> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the route carries a plan that is not JSON' };
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (version !== EXECUTION_PLAN_VERSION) {
    return {
      ok: false,
      reason: `the route carries a plan of version ${version === undefined ? 'none' : JSON.stringify(version)}, this executor runs version ${String(EXECUTION_PLAN_VERSION)}: run the executor of the control plane's release`,
    };
  }
  // The control plane wrote it from a validated graph; the version says how to read it.
  return { ok: true, value: value as ExecutionPlan };
}
