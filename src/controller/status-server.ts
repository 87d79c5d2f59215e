import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorShape } from '../protocols/error-body.ts';
import type { ControlPlaneStatus } from './status.ts';

/** GET /status: the control plane's view as JSON. Loopback by default: it names every Envoy. */
export async function startStatusServer(
  status: () => ControlPlaneStatus,
  address: { host: string; port: number },
): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const found = request.method === 'GET' && request.url === '/status';
    const body = JSON.stringify(
      found ? status() : errorShape({ status: 404, reason: 'the only page here is GET /status' }),
      null,
      2,
    );
    response.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    response.end(`${body}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
