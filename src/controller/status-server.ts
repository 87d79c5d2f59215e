import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { errorShape } from '../protocols/error-body.ts';
import { bearerToken, watchTlsFiles, type TlsFiles } from '../runtime/tls-material.ts';
import { WatchedFiles } from '../runtime/watched-files.ts';
import { bearerMatches } from './status-access.ts';
import type { ControlPlaneStatus } from './status.ts';

/** How GET /status is guarded; nothing given: open (a loopback address). */
export interface StatusSecurity {
  /** A file holding the bearer token callers must send; read again when it changes. */
  readonly tokenFile?: string;
  /**
   * Serve HTTPS with these files, read again when they change; with a client
   * CA, GET /status also needs a client certificate from it.
   */
  readonly tls?: TlsFiles;
  /** Where reloads of those files are told. */
  readonly log?: (line: string) => void;
}

/** A page of the status server beside GET /status (the status page and its JSON). */
export interface StatusRoute {
  readonly contentType: string;
  /** The answer to GET path?query; throws BadQuery when the query asks for nothing it can give. */
  readonly body: (query: URLSearchParams) => string | Promise<string>;
  /**
   * The same bytes for everyone and no data of the control plane (the page's
   * HTML): served without the bearer token, which a browser cannot send when
   * it opens a page. A client certificate is still needed where one is.
   */
  readonly withoutToken?: boolean;
}

function answer(response: ServerResponse, status: number, body: unknown, headers = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}

/** A route's query that names no page: answered 400 in the error shape with this message. */
export class BadQuery extends Error {
  override readonly name = 'BadQuery';
}

/**
 * GET /status: the control plane's view as JSON, and GET /metrics for
 * Prometheus behind the same guard. Loopback by default: it names every
 * Envoy. It holds no payloads and no secrets (a test drives traffic with
 * secrets through the data plane and looks for them here).
 * GET /healthz (the process answers) and GET /readyz (every source has been
 * read once and served: 200, else 503) are for a kubelet's probes, which
 * carry no token and no client certificate: they are open whatever guards
 * /status, and say nothing but that.
 */
export async function startStatusServer(
  status: () => ControlPlaneStatus,
  address: { host: string; port: number },
  security: StatusSecurity = {},
  routes: ReadonlyMap<string, StatusRoute> = new Map(),
  ready: () => boolean = () => true,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const log = security.log ?? (() => undefined);
  const token =
    security.tokenFile === undefined
      ? undefined
      : await WatchedFiles.open('the status token', [security.tokenFile], bearerToken, { log });
  let tls;
  try {
    tls = security.tls && (await watchTlsFiles("the status endpoint's TLS", security.tls, { log }));
  } catch (error) {
    token?.close();
    throw error;
  }
  const mutual = security.tls?.clientCa !== undefined;

  /** Why a request may not read the status, if it may not. */
  const refusal = (
    request: IncomingMessage,
    route: StatusRoute | undefined,
  ): string | undefined => {
    const socket = request.socket;
    const page = `GET ${request.url ?? ''}`;
    if (mutual && !(socket instanceof TLSSocket && socket.authorized)) {
      return `${page} needs a client certificate from the status client CA`;
    }
    if (
      token &&
      route?.withoutToken !== true &&
      !bearerMatches(request.headers.authorization, token.value)
    ) {
      return `${page} needs the bearer token (Authorization: Bearer <token>)`;
    }
    return undefined;
  };

  const pages = ['/status', '/healthz', '/readyz', ...routes.keys()]
    .map((path) => `GET ${path}`)
    .join(', ');
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = request.method === 'GET' ? new URL(request.url ?? '/', 'http://status') : undefined;
    const path = url?.pathname;
    if (path === '/healthz') {
      answer(response, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      const isReady = ready();
      answer(response, isReady ? 200 : 503, {
        status: isReady ? 'ready' : 'not ready: the sources are still being read',
      });
      return;
    }
    const isStatus = path === '/status';
    const route = path === undefined ? undefined : routes.get(path);
    if (!isStatus && !route) {
      answer(response, 404, errorShape({ status: 404, reason: `the pages here are ${pages}` }));
      return;
    }
    const refused = refusal(request, route);
    if (refused !== undefined) {
      answer(response, 401, errorShape({ status: 401, reason: refused }), {
        ...(token && { 'www-authenticate': 'Bearer realm="switchyard"' }),
      });
      return;
    }
    if (!route) {
      answer(response, 200, status());
      return;
    }
    Promise.resolve()
      .then(() => route.body(url?.searchParams ?? new URLSearchParams()))
      .then(
        (body) => {
          response.writeHead(200, {
            'content-type': route.contentType,
            'cache-control': 'no-store',
          });
          response.end(body);
        },
        (error: unknown) => {
          const reason = error instanceof Error ? error.message : String(error);
          const status = error instanceof BadQuery ? 400 : 500;
          answer(response, status, errorShape({ status, reason }));
        },
      );
  };

  const material = tls?.value;
  const server = material
    ? createHttpsServer(
        {
          ...material,
          // Asked for, not required: a refusal is then an answer in the error shape, not a failed handshake.
          requestCert: mutual,
          rejectUnauthorized: false,
        },
        handle,
      )
    : createServer(handle);
  if ('setSecureContext' in server) {
    tls?.onChange((rotated) => {
      server.setSecureContext(rotated);
    });
  }
  const closeFiles = () => {
    token?.close();
    tls?.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, resolve);
    });
  } catch (error) {
    closeFiles();
    throw error;
  }
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        closeFiles();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
