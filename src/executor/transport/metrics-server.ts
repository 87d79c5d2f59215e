import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorShape } from '../../protocols/error-body.ts';

/** Prometheus text, as a registry renders it. */
export interface MetricsText {
  readonly contentType: string;
  text(): Promise<string>;
}

/** GET /metrics for a scraper; loopback unless told otherwise, like the executor itself. */
export async function startMetricsServer(
  metrics: MetricsText,
  address: { host: string; port: number },
  log: (message: string) => void,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(
        `${JSON.stringify(errorShape({ status: 404, reason: 'the only page here is GET /metrics' }))}\n`,
      );
      return;
    }
    metrics.text().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(text);
      },
      (error: unknown) => {
        // A worker that did not answer in time (prom-client waits 5 s) fails the scrape, not the executor.
        log(`metrics: ${String(error)}`);
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(
          `${JSON.stringify(errorShape({ status: 503, reason: 'the metrics could not be gathered' }))}\n`,
        );
      },
    );
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
