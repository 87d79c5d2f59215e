import type { Pool } from 'undici';

/**
 * The calls each reference graph makes, written by hand with a pooled HTTP
 * client: the baselines' orchestrator (B0, B1) and the floor the executor
 * is held to in bench/executor-hops.ts. Keys are the orchestrator's paths.
 */

type Tensor = { data: number[] };

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

export type HandWrittenGraph = (body: Buffer) => Promise<Buffer | string>;

export function handWrittenGraphs(target: Pool): Record<string, HandWrittenGraph> {
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
  return {
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
    '/g7': async (body) => call('m-b', await call('m-a', body)),
  };
}
