import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

/**
 * The baselines' client-side orchestrator: the same calls each reference
 * graph makes, written by hand with a pooled HTTP client, straight to the
 * models (B0) or through a plain, statically configured Envoy (B1).
 * `node orchestrator.ts <base url of the models or of that Envoy>`
 */
const target = new Pool(process.argv[2] ?? '', { connections: 256, pipelining: 1 });

type Tensor = { data: number[] };

async function call(model: string, body: Buffer | string): Promise<Buffer> {
  const reply = await target.request({
    path: `/v2/models/${model}/infer`,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of reply.body) chunks.push(chunk as Buffer);
  if (reply.statusCode !== 200) throw new Error(`${model} answered ${String(reply.statusCode)}`);
  return Buffer.concat(chunks);
}

function outputsOf(answer: Buffer): Tensor[] {
  return (JSON.parse(answer.toString('utf8')) as { outputs: Tensor[] }).outputs;
}

function mean(answers: Buffer[]): string {
  const all = answers.map((a) => outputsOf(a)[0]?.data ?? []);
  const data = (all[0] ?? []).map(
    (_, i) => all.reduce((sum, d) => sum + (d[i] ?? 0), 0) / all.length,
  );
  return JSON.stringify({ outputs: [{ name: 'y', shape: [data.length], datatype: 'FP64', data }] });
}

const ensemble = ['e1', 'e2', 'e3'];

const graphs: Record<string, (body: Buffer) => Promise<Buffer | string>> = {
  '/g1': (body) => call('m', body),
  '/g2': (body) => call(Math.random() < 0.9 ? 'm-a' : 'm-b', body),
  '/g3': async (body) => call('post', await call('m', await call('pre', body))),
  '/g4': async (body) => mean(await Promise.all(ensemble.map((m) => call(m, body)))),
  '/g5': (body) => {
    const tier = (JSON.parse(body.toString('utf8')) as { parameters?: { tier?: string } })
      .parameters?.tier;
    return call(tier === 'gold' ? 'm-a' : 'm-b', body);
  },
  '/g6': async (body) => {
    const answers = await Promise.all(ensemble.map((m) => call(m, body)));
    const responses = answers.map((a, i) => ({
      name: ensemble[i],
      response: JSON.parse(a.toString('utf8')) as unknown,
    }));
    return call('comb', JSON.stringify({ responses }));
  },
};

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
