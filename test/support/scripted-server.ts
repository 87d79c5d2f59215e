import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a scripted endpoint answers. */
export interface ScriptedReply {
  readonly status?: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly bytes?: Buffer;
  readonly headers?: Record<string, string>;
  readonly delayMs?: number;
  /** Sent as separate chunks with a pause between them (an LLM streaming its tokens). */
  readonly chunks?: readonly string[];
}

export interface ScriptedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly raw: Buffer;
  readonly json: unknown;
}

export type Handler = (request: ScriptedRequest) => ScriptedReply;

export interface ScriptedServer {
  readonly port: number;
  readonly address: string;
  /** What the server was sent, Envoy's health checks left out (they are counted apart). */
  readonly requests: ScriptedRequest[];
  readonly healthChecks: { count: number };
  stop(): Promise<void>;
}

/** Envoy's active health checks say who they are. */
const HEALTH_CHECK_AGENT = 'Envoy/HC';

const LIFETIME_MS = 10 * 60_000;

async function reply(response: ServerResponse, answer: ScriptedReply): Promise<void> {
  if (answer.delayMs !== undefined) await new Promise((r) => setTimeout(r, answer.delayMs));
  const headers = { ...answer.headers };
  if (answer.chunks) {
    response.writeHead(answer.status ?? 200, { 'content-type': 'text/event-stream', ...headers });
    for (const chunk of answer.chunks) {
      response.write(chunk);
      await new Promise((r) => setTimeout(r, 150));
    }
    response.end();
    return;
  }
  const body = answer.bytes ?? answer.text ?? JSON.stringify(answer.json ?? {});
  const type = answer.json === undefined ? 'text/plain' : 'application/json';
  response.writeHead(answer.status ?? 200, { 'content-type': type, ...headers });
  response.end(body);
}

/**
 * A loopback HTTP server whose answers a test scripts per path; it records
 * every request and stops by itself after ten minutes at the latest.
 */
export async function startScriptedServer(
  handlers: Record<string, Handler>,
): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const healthChecks = { count: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const path = request.url ?? '/';
      const recorded = { path, headers: request.headers, body, raw, json };
      const handler = handlers[path.split('?')[0] ?? ''];
      const healthCheck = request.headers['user-agent'] === HEALTH_CHECK_AGENT;
      if (healthCheck) healthChecks.count += 1;
      else requests.push(recorded);
      let answer: ScriptedReply;
      try {
        // Unless a test scripts its readiness, a scripted server is ready.
        answer = handler
          ? handler(recorded)
          : healthCheck
            ? { status: 200, json: {} }
            : { status: 404, json: { error: `no ${path}` } };
      } catch (error) {
        answer = { status: 500, text: `the scripted handler failed: ${String(error)}` };
      }
      reply(response, answer).catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const lifetime = setTimeout(() => server.close(), LIFETIME_MS);
  lifetime.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${String(port)}`,
    requests,
    healthChecks,
    stop: () =>
      new Promise<void>((resolve) => {
        clearTimeout(lifetime);
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
