import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileGraphs } from '../../src/controller/compile.ts';
import { startControlPlane } from '../../src/controller/control-plane.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { MAX_PLAN_HEADER_BYTES } from '../../src/envoy/plan-carriage.ts';
import { EXECUTION_PLAN } from '../../src/envoy/type-urls.ts';
import { ReferencedPlans } from '../../src/executor/interpreter/referenced-plans.ts';
import { subscribeToPlans } from '../../src/executor/transport/plan-subscription.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { post, waitFor } from '../support/http.ts';
import {
  startScriptedServer,
  type Handler,
  type ScriptedServer,
} from '../support/scripted-server.ts';
import { steadyLoad } from '../support/steady-load.ts';
import { makeTestCa, type IssuedCert, type TestCa } from '../support/test-pki.ts';
import { startStack, type Stack } from '../support/stack.ts';
import type { V2 } from '../support/two-step-graphs.ts';

/**
 * Plans too large for a route header travel by reference: the control
 * plane serves them to executors over xDS, named by their hash, and the
 * route carries only the hash. A real Envoy, the control plane and the
 * executor, over scripted models on loopback.
 */

function v2Model(model: string, f: (n: number) => number): Record<string, Handler> {
  return {
    [`/v2/models/${model}/infer`]: (r) => {
      const data = (r.json as V2).inputs?.[0]?.data ?? [];
      return {
        json: {
          outputs: [{ name: 'y', shape: [data.length], datatype: 'FP64', data: data.map(f) }],
        },
      };
    },
  };
}

const models: Record<string, Handler> = {
  ...v2Model('plus-one', (n) => n + 1),
  ...v2Model('plus-two', (n) => n + 2),
};

/**
 * A sequence of `steps` calls of one node, `one` (plus-one) or `two`
 * (plus-two), then one of the other: the answer to 0 tells which plan ran
 * (steps + 2 or 2 × steps + 1). The nodes stay as they are whatever the
 * steps, so a change changes the plan alone: hop routes are the nodes', not
 * the plan's. As
 * written, the last step is handed off to Envoy (ext_proc); `upstream`
 * returns a step's output too, so the executor answers it whole.
 */
function longSequence(
  name: string,
  steps: number,
  node: 'one' | 'two',
  address: string,
  transport: 'ext_proc' | 'upstream' = 'ext_proc',
): string {
  const other = node === 'one' ? 'two' : 'one';
  const list = [...Array.from({ length: steps }, () => node), other]
    .map((name) => `{ node: ${name} }`)
    .join(', ');
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: seq
  timeout: 600s
${transport === 'upstream' ? `  returnOutputs: [${node}]\n` : ''}  nodes:
    seq: { kind: sequence, steps: [${list}] }
    one: { kind: model, model: plus-one, endpoint: { addresses: ["${address}"] } }
    two: { kind: model, model: plus-two, endpoint: { addresses: ["${address}"] } }
`;
}

const zero = { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [0] }] };
const answerOf = (json: unknown) => (json as V2).outputs?.[0]?.data[0];

/** Enough steps for a plan past the header limit (a step is about 30 bytes of plan). */
const LARGE = Math.ceil(MAX_PLAN_HEADER_BYTES / 30) + 100;

describe('plans by reference', () => {
  let server: ScriptedServer;
  let stack: Stack;
  const url = (name: string) => `${stack.base}/v2/models/${name}/infer`;

  before(async () => {
    server = await startScriptedServer(models);
    stack = await startStack('plans', {
      'big.yaml': longSequence('big', LARGE, 'one', server.address),
      'big-up.yaml': longSequence('big-up', LARGE, 'one', server.address, 'upstream'),
    });
    await waitFor(
      'the large graphs to answer',
      async () =>
        (await post(url('big'), zero)).status === 200 &&
        (await post(url('big-up'), zero)).status === 200,
      60_000,
    );
  });

  after(async () => {
    await stack.stop();
    await server.stop();
  });

  test('a graph of 10,000 steps compiles, Envoy takes it, the executor runs it', async (t) => {
    const written = performance.now();
    stack.write('huge.yaml', longSequence('huge', 9_999, 'one', server.address));
    let reply = await post(url('huge'), zero);
    const elapsed = await waitFor(
      'the 10,000-step graph to answer',
      async () => {
        reply = await post(url('huge'), zero);
        return reply.status === 200;
      },
      240_000,
      200,
    );
    assert.equal(reply.status, 200, reply.text);
    assert.equal(answerOf(reply.json), 10_001, 'each of the 10,000 steps ran once');
    const status = stack.controlPlane.status().graphs.find((g) => g.id === 'default/huge');
    assert.equal(status?.programmedOn, 1);
    const answered = performance.now();
    const again = await post(url('huge'), zero);
    assert.equal(answerOf(again.json), 10_001);
    t.diagnostic(
      `written to first answer ${String(Math.round(performance.now() - written))} ms (polled ${String(Math.round(elapsed))} ms); one more request ${String(Math.round(performance.now() - answered))} ms`,
    );
    stack.write('huge.yaml', longSequence('huge', 2, 'one', server.address));
  });

  test('a graph nested 1,000 nodes deep (the most a graph may) compiles, Envoy takes it, the executor runs it', async () => {
    const levels = Array.from(
      { length: 998 },
      (_, i) => `    s${String(i)}: { kind: sequence, steps: [{ node: s${String(i + 1)} }] }`,
    );
    stack.write(
      'deep.yaml',
      `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: deep }
spec:
  entry: s0
  nodes:
${levels.join('\n')}
    s998: { kind: sequence, steps: [{ node: one }, { node: two }] }
    one: { kind: model, model: plus-one, endpoint: { addresses: ["${server.address}"] } }
    two: { kind: model, model: plus-two, endpoint: { addresses: ["${server.address}"] } }
`,
    );
    let reply = await post(url('deep'), zero);
    await waitFor(
      'the deep graph to answer',
      async () => {
        reply = await post(url('deep'), zero);
        return reply.status === 200;
      },
      60_000,
      100,
    );
    assert.equal(answerOf(reply.json), 3, reply.text);
  });

  for (const [name, transport] of [
    ['big', 'ext_proc'],
    ['big-up', 'upstream'],
  ] as const) {
    test(`changing a large graph under load (${transport}): no request dropped, each answered by one version`, async (t) => {
      const wholeOld = LARGE + 2;
      const wholeNew = 2 * LARGE + 1;
      const load = steadyLoad({
        rate: 40,
        targets: [{ url: url(name), body: zero }],
        maxSeconds: 8,
      });
      const deadline = Date.now() + 4_000;
      let changes = 0;
      while (Date.now() < deadline) {
        changes += 1;
        const node = changes % 2 === 0 ? 'one' : 'two';
        stack.write(`${name}.yaml`, longSequence(name, LARGE, node, server.address, transport));
        await new Promise((r) => setTimeout(r, 250));
      }
      const results = await load.stop();
      const seen = new Map<string, number>();
      for (const result of results) {
        const key =
          result.reply?.status === 200
            ? String(answerOf(result.reply.json))
            : `${String(result.reply?.status ?? result.error)}: ${result.reply?.text ?? ''}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      t.diagnostic(
        `${String(results.length)} requests over ${String(changes)} changes: ${JSON.stringify([...seen])}`,
      );
      const allowed = new Set([String(wholeOld), String(wholeNew)]);
      assert.deepEqual(
        [...seen].filter(([key]) => !allowed.has(key)),
        [],
        'every answer is of one version, none failed',
      );
      assert.ok((seen.get(String(wholeOld)) ?? 0) > 0 && (seen.get(String(wholeNew)) ?? 0) > 0);
    });
  }

  test('an executor started after Envoy has the routes that name its plans waits for them, then serves', async () => {
    await stack.executor?.stop();
    stack.write('late.yaml', longSequence('late', LARGE, 'two', server.address));
    await waitFor(
      "Envoy to run the late graph's routes",
      () =>
        stack.controlPlane.status().graphs.find((g) => g.id === 'default/late')?.programmedOn === 1,
      30_000,
    );
    await stack.startExecutor();
    // Sent at once: the executor has no plan yet when the request names it.
    const reply = await post(url('late'), zero);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(answerOf(reply.json), 2 * LARGE + 1);
  });

  test('an executor whose control plane is gone keeps serving the plans it has', async () => {
    await stack.controlPlane.stop();
    for (let i = 0; i < 10; i++) {
      for (const name of ['big', 'big-up', 'late']) {
        const reply = await post(url(name), zero);
        assert.equal(reply.status, 200, reply.text);
      }
    }
  });
});

describe('plans by reference, per node group', () => {
  const listener = {
    address: '127.0.0.1',
    port: 10,
    hopPort: 11,
    executor: { address: '127.0.0.1', port: 12, workers: 1 },
  };
  const root = envoyProtos();
  const groups = ['group-a', 'group-b'];
  const texts = new Map(
    groups.map((group) => [group, longSequence(`only-${group}`, LARGE, 'one', '127.0.0.1:9')]),
  );
  /** The names of the plans a group's graph has, compiled as the control plane does. */
  const served = (group: string) => {
    const { graphs } = loadGraphDocuments(`${group}.yaml`, texts.get(group) ?? '');
    const compiled = compileGraphs(graphs, listener, root);
    return [...(compiled.resources.get(EXECUTION_PLAN)?.keys() ?? [])];
  };
  let dir: string;
  let ca: TestCa;
  let serverCert: IssuedCert;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-plans-groups-'));
    for (const [group, text] of texts) {
      mkdirSync(join(dir, group));
      writeFileSync(join(dir, group, `${group}.yaml`), text);
    }
    mkdirSync(join(dir, 'ca'));
    ca = await makeTestCa(join(dir, 'ca'), 'xds-ca');
    serverCert = await ca.issue('server', {
      commonName: 'control-plane',
      hosts: ['127.0.0.1'],
      usage: 'server',
    });
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Subscribes an executor of each of `claims` and returns the plan names each one got. */
  async function plansTaken(
    tls: boolean,
    claims: readonly { group: string; cert?: IssuedCert }[],
  ): Promise<string[][]> {
    const controlPlane = await startControlPlane({
      groups: new Map(groups.map((group) => [group, join(dir, group)])),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      ...(tls && {
        xdsTls: { cert: serverCert.certFile, key: serverCert.keyFile, clientCa: ca.certFile },
      }),
      listener,
      log: () => undefined,
    });
    const subscriptions: { close(): void }[] = [];
    try {
      const stores = claims.map(({ group, cert }) => {
        const plans = new ReferencedPlans({ source: 'test' });
        subscriptions.push(
          subscribeToPlans(
            root,
            {
              address: `127.0.0.1:${String(controlPlane.xdsPort)}`,
              group,
              nodeId: `executor-${group}`,
              ...(cert && {
                tls: () => ({
                  ca: readFileSync(ca.certFile),
                  cert: readFileSync(cert.certFile),
                  key: readFileSync(cert.keyFile),
                }),
              }),
            },
            plans,
            () => undefined,
          ),
        );
        return plans;
      });
      await waitFor("the executors' plans", () => stores.every((plans) => plans.size === 1));
      assert.deepEqual(controlPlane.server.envoys(), [], 'executors are not counted as Envoys');
      assert.equal(controlPlane.server.executors().length, claims.length);
      return stores.map((plans) =>
        groups.flatMap((group) => served(group).filter((name) => plans.get(name)?.ok === true)),
      );
    } finally {
      for (const subscription of subscriptions) subscription.close();
      await controlPlane.stop();
    }
  }

  test("an executor gets its group's plans and no other's", async () => {
    const [a, b] = await plansTaken(false, [{ group: 'group-a' }, { group: 'group-b' }]);
    assert.deepEqual(a, served('group-a'));
    assert.deepEqual(b, served('group-b'));
  });

  test('under mutual TLS its certificate decides its group, whatever it claims', async () => {
    const certOf = (group: string) =>
      ca.issue(`client-${group}`, {
        commonName: group,
        uris: [`spiffe://test.example/switchyard/group/${group}`],
        usage: 'client',
      });
    const [a, b] = await plansTaken(true, [
      // Certified for group A, claiming B: gets A's.
      { group: 'group-b', cert: await certOf('group-a') },
      { group: 'group-a', cert: await certOf('group-b') },
    ]);
    assert.deepEqual(a, served('group-a'));
    assert.deepEqual(b, served('group-b'));
  });
});
