import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { countArgument } from '../count-argument.ts';

/**
 * The benchmark's model servers, one port, a path per model; one process,
 * or `--processes N` sharing the port (a machine with many cores must not
 * wait on its models when it measures the executor).
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
const POST = '/v2/models/post/infer';
/**
 * An output transformer answers what it is given as its answer: a stock V2
 * server takes a request, so the executor sends it the model's outputs as
 * inputs (docs/protocols.md), which it hands back as outputs, renamed
 * without parsing; a router that sends it the model's answer as it is gets
 * that back.
 */
const INPUTS = Buffer.from('{"inputs":');
const OUTPUTS = Buffer.from('{"outputs":');
const echoing = new Set(['/v2/models/pre/infer', POST]);

function echoed(url: string, body: Buffer): Buffer {
  if (url !== POST || !body.subarray(0, INPUTS.length).equals(INPUTS)) return body;
  return Buffer.concat([OUTPUTS, body.subarray(INPUTS.length)]);
}

function serve(): void {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '';
      const body = echoing.has(url) ? echoed(url, Buffer.concat(chunks)) : answer;
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': body.length,
      });
      response.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    if (cluster.isPrimary) process.stdout.write(`READY ${String(port)}\n`);
    else process.send?.({ port });
  });
}

const { values: args } = parseArgs({ options: { processes: { type: 'string', default: '1' } } });
const processes = countArgument('--processes', args.processes);

if (cluster.isPrimary && processes > 1) {
  // Workers that listen on port 0 in a cluster all get the same port.
  let listening = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', ({ port }: { port: number }) => {
      if (++listening === processes) process.stdout.write(`READY ${String(port)}\n`);
    });
  }
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  serve();
  process.once('SIGTERM', () => process.exit(0));
}
