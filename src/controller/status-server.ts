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

function answer(response: ServerResponse, status: number, body: unknown, headers = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}

/**
 * GET /status: the control plane's view as JSON. Loopback by default: it
 * names every Envoy. It holds no payloads and no secrets (a test drives
 * traffic with secrets through the data plane and looks for them here).
 */
export async function startStatusServer(
  status: () => ControlPlaneStatus,
  address: { host: string; port: number },
  security: StatusSecurity = {},
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
  const refusal = (request: IncomingMessage): string | undefined => {
    const socket = request.socket;
    if (mutual && !(socket instanceof TLSSocket && socket.authorized)) {
      return 'GET /status needs a client certificate from the status client CA';
    }
    if (token && !bearerMatches(request.headers.authorization, token.value)) {
      return 'GET /status needs the bearer token (Authorization: Bearer <token>)';
    }
    return undefined;
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'GET' || request.url !== '/status') {
      answer(
        response,
        404,
        errorShape({ status: 404, reason: 'the only page here is GET /status' }),
      );
      return;
    }
    const refused = refusal(request);
    if (refused !== undefined) {
      answer(response, 401, errorShape({ status: 401, reason: refused }), {
        ...(token && { 'www-authenticate': 'Bearer realm="switchyard"' }),
      });
      return;
    }
    answer(response, 200, status());
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
