import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { post, waitFor } from '../support/http.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { arithmeticModels, twoStepSequence, type V2 } from '../support/two-step-graphs.ts';

/**
 * The executor is stateless: each request runs the plan of the route Envoy
 * matched for it. Changing a graph under load must give every request either
 * the old plan or the new one, never a mix, and never an error.
 */

/** "flip" hands its last step off to Envoy (ext_proc); "flop" is answered whole by the executor. */
function sequence(name: 'flip' | 'flop', order: readonly string[], address: string): string {
  return twoStepSequence(name, order, address, name === 'flip' ? 'ext_proc' : 'upstream');
}

describe('executor graphs under change', () => {
  let models: ScriptedServer;
  let stack: Stack;
  const url = (name = 'flip') => `${stack.base}/v2/models/${name}/infer`;
  const input = { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] };
  const answerOf = (json: unknown) => (json as V2).outputs?.[0]?.data[0];

  before(async () => {
    models = await startScriptedServer(arithmeticModels);
    stack = await startStack('changes', {
      'flip.yaml': sequence('flip', ['add', 'mul'], models.address),
      'flop.yaml': sequence('flop', ['add', 'mul'], models.address),
    });
    await waitFor('the graphs to answer', async () => {
      try {
        return (
          (await post(url('flip'), input)).status === 200 &&
          (await post(url('flop'), input)).status === 200
        );
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await stack.stop();
    await models.stop();
  });

  for (const [name, transport] of [
    ['flip', 'ext_proc'],
    ['flop', 'upstream'],
  ] as const) {
    test(`reordering steps every 100 ms under load (${transport}): every answer is wholly old or wholly new`, async (t) => {
      const executors = stack.controlPlane
        .status()
        .graphs.find((g) => g.id === `default/${name}`)?.executors;
      assert.deepEqual(executors, [{ entry: 'seq', transport }]);
      // add then mul: (1 + 10) * 2 = 22; mul then add: 1 * 2 + 10 = 12.
      const allowed = new Set([22, 12]);
      const seen = new Map<string, number>();
      const deadline = Date.now() + 5_000;
      let flips = 0;
      const flipper = (async () => {
        while (Date.now() < deadline) {
          flips += 1;
          stack.write(
            `${name}.yaml`,
            sequence(name, flips % 2 === 0 ? ['add', 'mul'] : ['mul', 'add'], models.address),
          );
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const client = async () => {
        while (Date.now() < deadline) {
          const reply = await post(url(name), input);
          const key =
            reply.status === 200
              ? String(answerOf(reply.json))
              : `status ${String(reply.status)}: ${reply.text}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      };
      await Promise.all([flipper, ...Array.from({ length: 8 }, client)]);
      const total = [...seen.values()].reduce((a, b) => a + b, 0);
      // Node's HTTP/2 server now and then refuses a stream (about 1 in 4,000 here); Envoy retries those.
      const retries = await stack.envoy.stats('switchyard-executor.upstream_rq_retry');
      t.diagnostic(
        `refused executor streams retried: ${String(retries['cluster.switchyard-executor.upstream_rq_retry'] ?? 0)}`,
      );
      t.diagnostic(
        `${String(total)} requests over ${String(flips)} changes: ${JSON.stringify([...seen])}`,
      );
      const unexpected = [...seen].filter(([key]) => !allowed.has(Number(key)));
      assert.deepEqual(unexpected, [], `answers other than 22 or 12 among ${String(total)}`);
      assert.ok((seen.get('22') ?? 0) > 0 && (seen.get('12') ?? 0) > 0, JSON.stringify([...seen]));

      // The last spec wins once it has converged.
      stack.write(`${name}.yaml`, sequence(name, ['mul', 'add'], models.address));
      await waitFor(
        'the last order to serve',
        async () => answerOf((await post(url(name), input)).json) === 12,
      );
    });
  }

  test('a stopped control plane does not stop executor graphs', async () => {
    await stack.controlPlane.stop();
    for (let i = 0; i < 20; i++) {
      for (const name of ['flip', 'flop']) {
        const reply = await post(url(name), input);
        assert.equal(reply.status, 200, reply.text);
      }
    }
  });
});
