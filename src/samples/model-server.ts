import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small plain-HTTP model server for the demo and the tests. It speaks the
 * Open Inference Protocol V2 (and answers V1 and Seldon inference paths too):
 * it multiplies every input number by `scale` and says which model answered.
 * It knows nothing of Switchyard: no SDK, no forwarding.
 */
export interface SampleModelOptions {
  /** The model's name on this server: it answers /v2/models/<name>/infer. */
  readonly name: string;
  readonly port?: number;
  readonly host?: string;
  readonly scale?: number;
  /** Reported as model_version, so a demo can show which server answered. */
  readonly version?: string;
  /** Added to every number after scaling. */
  readonly offset?: number;
  /**
   * "transformer": answer with the transformed request (V2 inputs) instead
   * of a prediction, as a pre-processing step does.
   */
  readonly role?: 'model' | 'transformer';
  /** Delay before answering, to exercise timeouts. */
  readonly delayMs?: number;
  /** Answer the first N inference requests with 500, to exercise retries. */
  readonly failFirst?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface SampleModel {
  readonly name: string;
  readonly port: number;
  /** What the model was sent, Envoy's health checks left out (they are counted apart). */
  readonly requests: RecordedRequest[];
  readonly healthChecks: { count: number };
  stop(): Promise<void>;
}

/** Envoy's active health checks say who they are. */
const HEALTH_CHECK_AGENT = 'Envoy/HC';

const maxBodyBytes = 16 * 1024 * 1024;

function numbersOf(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.flatMap(numbersOf);
  return [];
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function infer(options: SampleModelOptions, path: string, payload: unknown): unknown {
  const scale = options.scale ?? 1;
  const offset = options.offset ?? 0;
  const body = (payload ?? {}) as Record<string, unknown>;
  if (path.startsWith('/v1/')) {
    return {
      predictions: numbersOf(body.instances).map((n) => n * scale + offset),
      model_name: options.name,
    };
  }
  if (path.startsWith('/api/v1.0/')) {
    const data = (body.data ?? {}) as Record<string, unknown>;
    return {
      data: {
        names: ['output'],
        ndarray: numbersOf(data.ndarray).map((n) => n * scale + offset),
      },
      meta: { tags: { model: options.name } },
    };
  }
  const inputs = Array.isArray(body.inputs) ? (body.inputs as Record<string, unknown>[]) : [];
  const data = inputs.flatMap((input) => numbersOf(input.data)).map((n) => n * scale + offset);
  if (options.role === 'transformer') {
    return { inputs: [{ name: 'input', shape: [data.length], datatype: 'FP64', data }] };
  }
  return {
    model_name: options.name,
    ...(options.version !== undefined && { model_version: options.version }),
    ...(typeof body.id === 'string' && { id: body.id }),
    outputs: [{ name: 'output', shape: [data.length], datatype: 'FP64', data }],
  };
}

function inferencePaths(name: string): Set<string> {
  return new Set([
    `/v2/models/${name}/infer`,
    `/v1/models/${name}:predict`,
    '/api/v1.0/predictions',
  ]);
}

export async function startSampleModel(options: SampleModelOptions): Promise<SampleModel> {
  const requests: RecordedRequest[] = [];
  const healthChecks = { count: 0 };
  const paths = inferencePaths(options.name);
  let failuresLeft = options.failFirst ?? 0;

  const handle = (request: IncomingMessage, response: ServerResponse, body: string): void => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.headers['user-agent'] === HEALTH_CHECK_AGENT) healthChecks.count += 1;
    else requests.push({ method: request.method ?? 'GET', path, headers: request.headers, body });
    if (request.method === 'GET' && (path === '/v2/health/ready' || path === '/v2/health/live')) {
      sendJson(response, 200, {});
      return;
    }
    // Readiness as each protocol asks it: V2's, KServe V1's model status, Seldon's ping.
    if (request.method === 'GET' && path === `/v2/models/${options.name}/ready`) {
      sendJson(response, 200, {});
      return;
    }
    if (request.method === 'GET' && path === `/v1/models/${options.name}`) {
      sendJson(response, 200, { name: options.name, ready: true });
      return;
    }
    if (request.method === 'GET' && path === '/health/ping') {
      sendJson(response, 200, 'pong');
      return;
    }
    if (request.method !== 'POST' || !paths.has(path)) {
      sendJson(response, 404, {
        error: `model ${options.name} does not serve ${request.method ?? ''} ${path}`,
      });
      return;
    }
    if (failuresLeft > 0) {
      failuresLeft -= 1;
      sendJson(response, 500, { error: `${options.name} failed on purpose` });
      return;
    }
    let payload: unknown;
    try {
      payload = body === '' ? {} : JSON.parse(body);
    } catch {
      sendJson(response, 400, { error: 'request body is not JSON' });
      return;
    }
    sendJson(response, 200, infer(options, path, payload));
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > maxBodyBytes) {
        sendJson(response, 413, { error: 'request body too large' });
        return;
      }
      const answer = () => {
        handle(request, response, Buffer.concat(chunks).toString('utf8'));
      };
      if (options.delayMs) setTimeout(answer, options.delayMs).unref();
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  return {
    name: options.name,
    port: (server.address() as AddressInfo).port,
    requests,
    healthChecks,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
