import { Pool } from 'undici';

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

  async call(
    path: string,
    body: Buffer,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<HopAnswer> {
    const response = await this.#pool.request({ path, method: 'POST', headers, body, signal });
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    const answerHeaders = new Map<string, string>();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined)
        answerHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    return { status: response.statusCode, headers: answerHeaders, body: Buffer.concat(chunks) };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
