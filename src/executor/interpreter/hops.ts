import type { DirectHop } from '../../plan/execution.ts';

/**
 * How the interpreter calls a node: through Envoy's hop listener, whose
 * route for the node holds its policies, or, with `direct`, the node
 * itself. The transport implements it (hop-client.ts); tests and
 * benchmarks answer from memory.
 */
export interface Hops {
  call(
    path: string,
    body: Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    direct?: DirectHop,
  ): Promise<HopAnswer>;
}

export interface HopAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** The node sent no answer (or stopped sending one) within the call's time. */
export class HopTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${String(timeoutMs)} ms`);
    this.name = 'HopTimeoutError';
  }
}
