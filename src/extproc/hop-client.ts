import { Pool, type Dispatcher } from 'undici';
import { headerMap } from './header-map.ts';

/** The node sent no answer (or stopped sending one) within the call's time. */
export class HopTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${String(timeoutMs)} ms`);
    this.name = 'HopTimeoutError';
  }
}

const undiciTimeouts = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export interface HopAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/**
 * Calls nodes through Envoy's hop listener over a pool of kept-alive
 * connections: the node's policies (timeouts, retries, circuit breaking)
 * are Envoy's, the executor only says which node and with what.
 */
export class HopClient {
  readonly #pool: Pool;

  constructor(hopUrl: string, connections = 256) {
    this.#pool = new Pool(hopUrl, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  /**
   * Envoy's hop route holds the node to its step timeout; `timeoutMs` is
   * what is left of the graph's deadline, kept with undici's own timers
   * (an AbortSignal per call cost about a tenth of a hop's CPU, profiled).
   * It bounds the wait for headers and each wait for body data.
   */
  async call(
    path: string,
    body: Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<HopAnswer> {
    const chunks: Buffer[] = [];
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#pool.request({
        path,
        method: 'POST',
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      for await (const chunk of response.body) chunks.push(chunk as Buffer);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      throw typeof code === 'string' && undiciTimeouts.has(code)
        ? new HopTimeoutError(timeoutMs)
        : error;
    }
    return {
      status: response.statusCode,
      headers: headerMap(response.headers),
      body: Buffer.concat(chunks),
    };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
