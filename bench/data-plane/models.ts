import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The benchmark's model servers, one process, one port, a path per model.
 * They answer without parsing, so every variant of a scenario pays the same
 * model cost: models answer a fixed small V2 answer, transformers echo the
 * request they got, the combiner answers like a model.
 */
const answer = Buffer.from(
  JSON.stringify({
    model_name: 'm',
    outputs: [{ name: 'y', shape: [4], datatype: 'FP32', data: [0.1, 0.2, 0.3, 0.4] }],
  }),
);
const echoing = new Set(['/v2/models/pre/infer', '/v2/models/post/infer']);

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = echoing.has(request.url ?? '') ? Buffer.concat(chunks) : answer;
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${String((server.address() as AddressInfo).port)}\n`);
});
process.once('SIGTERM', () => process.exit(0));
