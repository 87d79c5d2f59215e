import type { ListenerOptions } from '../../src/envoy/options.ts';

/** The CLI's default listener and executor, for compiles whose resources no Envoy serves. */
export function defaultListener(workers = 1): ListenerOptions {
  return {
    address: '127.0.0.1',
    port: 10000,
    hopPort: 10001,
    executor: { address: '127.0.0.1', port: 18081, workers },
  };
}
