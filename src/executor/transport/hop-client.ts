import { Pool, type Dispatcher } from 'undici';
import type { DirectHop } from '../../plan/execution.ts';
import { HopTimeoutError, type HopAnswer, type Hops } from '../interpreter/hops.ts';
import { DirectHops } from './direct-hops.ts';
import { headerMap } from './header-map.ts';

/** The node's answer passed the executor's bound on answers it holds in memory. */
export class HopAnswerTooLargeError extends Error {
  constructor(limit: number) {
    super(
      `its answer is larger than the executor's limit of ${String(limit)} bytes (switchyard executor --max-answer-bytes)`,
    );
    this.name = 'HopAnswerTooLargeError';
  }
}

/** What the executor holds of one answer by default: far above inference payloads, far below its heap. */
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024;

const undiciTimeouts = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Calls nodes through Envoy's hop listener over a pool of kept-alive
 * connections: the node's policies (timeouts, retries, circuit breaking)
 * are Envoy's, the executor only says which node and with what. Nodes of
 * graphs with direct hops it calls itself (direct-hops.ts).
 */
export class HopClient implements Hops {
  readonly #pool: Pool;
  readonly #direct = new DirectHops();
  readonly #maxAnswerBytes: number;

  /**
   * Answers past `maxAnswerBytes` are cut off: the executor holds each answer
   * whole in memory. With `socket`, connections go to that Unix socket and
   * `hopUrl` only names the host in requests.
   */
  constructor(hopUrl: string, maxAnswerBytes = DEFAULT_MAX_ANSWER_BYTES, socket?: string) {
    this.#pool = new Pool(hopUrl, {
      connections: 256,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      ...(socket !== undefined && { socketPath: socket }),
    });
    this.#maxAnswerBytes = maxAnswerBytes;
  }

  /**
   * Envoy's hop route holds the node to its step timeout; `timeoutMs` is
   * what is left of the graph's deadline, kept with undici's own timers
   * (an AbortSignal per call cost about a tenth of a hop's CPU, profiled).
   * It bounds the wait for headers and each wait for body data.
   *
   * A raw dispatch handler, not `request()`: the answer is read whole
   * anyway, and skipping the per-answer stream object saved 12-15 µs of
   * the executor's CPU per hop (about a sixth, measured).
   */
  call(
    path: string,
    body: Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    direct?: DirectHop,
  ): Promise<HopAnswer> {
    const limit = this.#maxAnswerBytes;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let status = 0;
      let answerHeaders: Map<string, string> | undefined;
      // Only retried direct calls need a timer of their own: each try's wait is bounded by undici.
      let budget: NodeJS.Timeout | undefined;
      const request: Dispatcher.DispatchOptions = {
        path,
        method: 'POST',
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      };
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          if (direct?.retries === undefined || budget !== undefined) return;
          budget = setTimeout(() => {
            controller.abort(new HopTimeoutError(timeoutMs));
          }, timeoutMs);
        },
        onResponseStart(controller, statusCode, responseHeaders) {
          status = statusCode;
          answerHeaders = headerMap(responseHeaders);
          if (Number(answerHeaders.get('content-length') ?? 0) > limit) {
            controller.abort(new HopAnswerTooLargeError(limit));
          }
        },
        onResponseData(controller, chunk) {
          received += chunk.length;
          if (received > limit) controller.abort(new HopAnswerTooLargeError(limit));
          else chunks.push(chunk);
        },
        onResponseEnd() {
          clearTimeout(budget);
          resolve({
            status,
            headers: answerHeaders ?? new Map(),
            body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks),
          });
        },
        onResponseError(_controller, error) {
          clearTimeout(budget);
          const code = (error as { code?: unknown }).code;
          reject(
            typeof code === 'string' && undiciTimeouts.has(code)
              ? new HopTimeoutError(timeoutMs)
              : error,
          );
        },
      };
      if (direct === undefined) {
        this.#pool.dispatch(request, handler);
        return;
      }
      const deadlineAt = Date.now() + timeoutMs;
      this.#direct.dispatch(direct, request, handler, {
        deadlineAt,
        answered: () => answerHeaders !== undefined,
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.#pool.close(), this.#direct.close()]);
  }
}
