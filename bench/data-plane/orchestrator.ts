import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { handWrittenGraphs } from './hand-written-graphs.ts';

/**
 * The baselines' client-side orchestrator: the same calls each reference
 * graph makes, written by hand with a pooled HTTP client, straight to the
 * models (B0) or through a plain, statically configured Envoy (B1).
 * `node orchestrator.ts <base url of the models or of that Envoy>`
 */
const graphs = handWrittenGraphs(
  new Pool(process.argv[2] ?? '', { connections: 256, pipelining: 1 }),
);

function send(response: ServerResponse, status: number, body: Buffer | string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(body);
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const graph = graphs[request.url ?? ''];
    if (!graph) {
      send(response, 404, '{}');
      return;
    }
    graph(Buffer.concat(chunks)).then(
      (answer) => {
        send(response, 200, answer);
      },
      (error: unknown) => {
        send(response, 502, JSON.stringify({ error: String(error) }));
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${String((server.address() as AddressInfo).port)}\n`);
});
process.once('SIGTERM', () => process.exit(0));
