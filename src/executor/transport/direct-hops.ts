import { BalancedPool, Pool, RetryHandler, type Dispatcher } from 'undici';
import type { DirectHop } from '../../plan/execution.ts';
import type { RetryOn } from '../../spec/schema.ts';

/** Connections as the hop client keeps them to Envoy's hop listener. */
const poolOptions = { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 } as const;

/** Envoy's default retry back-off: 25 ms doubling up to 250 ms. */
const BACK_OFF_BASE_MS = 25;
const BACK_OFF_MAX_MS = 250;

const connectFailures = [
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
];
const resets = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'];
const perTryTimeouts = ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'];

/** What each of Envoy's retry_on classes retries, as HTTP statuses and undici error codes. */
function retriable(on: readonly RetryOn[]): { statuses: Set<number>; codes: Set<string> } {
  const statuses = new Set<number>();
  const codes = new Set<string>();
  for (const kind of on) {
    switch (kind) {
      case '5xx':
        for (let status = 500; status < 600; status++) statuses.add(status);
        for (const code of [...connectFailures, ...resets, ...perTryTimeouts]) codes.add(code);
        break;
      case 'gateway-error':
        for (const status of [502, 503, 504]) statuses.add(status);
        for (const code of [...connectFailures, ...resets, ...perTryTimeouts]) codes.add(code);
        break;
      case 'reset':
        for (const code of resets) codes.add(code);
        break;
      case 'connect-failure':
        for (const code of connectFailures) codes.add(code);
        break;
      case 'retriable-4xx':
        statuses.add(409);
        break;
      case 'refused-stream':
        // An HTTP/2 stream refusal: the executor speaks HTTP/1.1 to nodes.
        break;
    }
  }
  return { statuses, codes };
}

/** One call's retry decisions, as Envoy's hop route would take them. */
export interface RetryState {
  /** When the call's whole budget ends, in Date.now() milliseconds. */
  readonly deadlineAt: number;
  /** Whether the node's answer has started to reach the caller: from then on it is never retried. */
  answered(): boolean;
}

/**
 * The nodes of graphs with direct hops, called by the executor itself: a
 * pool of kept-alive connections per node (balanced across its addresses),
 * and the node's retries through undici's RetryHandler.
 */
export class DirectHops {
  readonly #pools = new Map<string, Dispatcher>();
  readonly #capacity: number;

  /** At most `capacity` nodes' pools are kept; the oldest is closed to make room. */
  constructor(capacity = 4096) {
    this.#capacity = capacity;
  }

  #pool(origins: readonly string[]): Dispatcher {
    const key = origins.join(' ');
    const known = this.#pools.get(key);
    if (known) return known;
    if (this.#pools.size >= this.#capacity) {
      const [oldestKey, oldest] = this.#pools.entries().next().value ?? [];
      if (oldestKey !== undefined && oldest) {
        this.#pools.delete(oldestKey);
        void oldest.close();
      }
    }
    const pool =
      origins.length === 1
        ? new Pool(origins[0] ?? '', poolOptions)
        : new BalancedPool([...origins], poolOptions);
    this.#pools.set(key, pool);
    return pool;
  }

  /** Sends one call to `hop`, retried as its plan says. */
  dispatch(
    hop: DirectHop,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
    state: RetryState,
  ): void {
    const pool = this.#pool(hop.origins);
    const retries = hop.retries;
    const perTry = retries?.perTryTimeoutMs;
    const request = {
      ...options,
      path: hop.path,
      // Each try waits at most its own timeout; the caller holds the call to its whole budget.
      ...(perTry !== undefined && {
        headersTimeout: Math.min(perTry, options.headersTimeout ?? perTry),
        bodyTimeout: Math.min(perTry, options.bodyTimeout ?? perTry),
      }),
    };
    if (retries === undefined) {
      pool.dispatch(request, handler);
      return;
    }
    const { statuses, codes } = retriable(retries.on);
    const retryOptions: RetryHandler.RetryOptions = {
      // Every answer reaches the caller, the last failed try's included (its error names the status).
      throwOnError: false,
      retry(error, { state: { counter } }, next) {
        const { statusCode, code } = error as { statusCode?: number; code?: string };
        const wanted =
          statusCode !== undefined
            ? statuses.has(statusCode)
            : code !== undefined && codes.has(code);
        const wait = Math.min(BACK_OFF_BASE_MS * 2 ** (counter - 1), BACK_OFF_MAX_MS);
        if (
          !wanted ||
          state.answered() ||
          counter > retries.attempts ||
          Date.now() + wait >= state.deadlineAt
        ) {
          next(error);
          return;
        }
        setTimeout(() => {
          next(null);
        }, wait);
      },
    };
    pool.dispatch(
      request,
      new RetryHandler(
        { ...request, retryOptions },
        { dispatch: (opts, inner) => pool.dispatch(opts, inner), handler },
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }
}
