import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Readiness is true: a graph is ready while every node a request may need
 * can answer (Envoy health-checks them), and its readiness turns within
 * seconds of a node going down and of it coming back, for native graphs,
 * executor graphs (which also need the executor), nested graphs, each
 * protocol's path and the server's. Soft nodes do not count.
 */

/** Health checks every 3 s, two failures to mark a node down: a wide margin over that. */
const TURN_MS = 20_000;

function graph(name: string, spec: string, nodes: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
${spec}  nodes:
${nodes}`;
}

describe('readiness follows the nodes, through a real Envoy', () => {
  const ports = { a: 0, b: 0, c: 0 };
  const models = new Map<keyof typeof ports, SampleModel>();
  let stack: Stack;

  async function start(key: keyof typeof ports): Promise<void> {
    models.set(key, await startSampleModel({ name: key, port: ports[key] }));
  }

  async function stop(key: keyof typeof ports): Promise<void> {
    await models.get(key)?.stop();
    models.delete(key);
  }

  before(async () => {
    for (const key of Object.keys(ports) as (keyof typeof ports)[]) {
      ports[key] = await freePort();
      await start(key);
    }
    const at = (key: keyof typeof ports) => `{ addresses: ["127.0.0.1:${String(ports[key])}"] }`;
    stack = await startStack('readiness', {
      'graphs.yaml': [
        graph('native', '  entry: m\n', `    m: { kind: model, model: a, endpoint: ${at('a')} }\n`),
        graph(
          'executor',
          '  entry: e\n',
          `    e: { kind: ensemble, children: [b, c], combine: merge }
    b: { kind: model, model: b, endpoint: ${at('b')} }
    c: { kind: model, model: c, endpoint: ${at('c')} }
`,
        ),
        graph(
          'tolerant',
          '  entry: e\n',
          `    e: { kind: ensemble, children: [b, c], combine: merge }
    b: { kind: model, model: b, dependency: soft, endpoint: ${at('b')} }
    c: { kind: model, model: c, endpoint: ${at('c')} }
`,
        ),
        graph(
          'nesting',
          '  entry: q\n',
          `    q: { kind: sequence, steps: [{ node: inner }] }\n    inner: { kind: graph, graph: native }\n`,
        ),
        graph(
          'kserve',
          '  entry: m\n  protocol: v1\n',
          `    m: { kind: model, model: a, endpoint: ${at('a')} }\n`,
        ),
        graph(
          'seldon',
          '  entry: m\n  protocol: seldon\n',
          `    m: { kind: model, endpoint: ${at('a')} }\n`,
        ),
      ].join('---\n'),
    });
  });

  after(async () => {
    await stack.stop();
    await Promise.all((Object.keys(ports) as (keyof typeof ports)[]).map(stop));
  });

  async function get(path: string): Promise<{ status: number; json: unknown }> {
    const response = await request(`${stack.base}${path}`);
    const text = await response.body.text();
    return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text) };
  }

  const paths = {
    native: '/v2/models/native/ready',
    executor: '/v2/models/executor/ready',
    tolerant: '/v2/models/tolerant/ready',
    nesting: '/v2/models/nesting/ready',
    kserve: '/v1/models/kserve',
    seldon: '/ready',
    server: '/v2/health/ready',
  } as const;
  type Readied = keyof typeof paths;

  const isReady = async (what: Readied) => (await get(paths[what])).status === 200;

  /** Waits until each of `what` answers `ready`; returns how long that took, for the log. */
  async function expect(what: readonly Readied[], ready: boolean): Promise<number> {
    return waitFor(
      `${what.join(', ')} to be ${ready ? 'ready' : 'not ready'}`,
      async () => {
        for (const one of what) if ((await isReady(one)) !== ready) return false;
        return true;
      },
      TURN_MS,
      100,
    );
  }

  const all = Object.keys(paths) as Readied[];

  test('every graph, and the server, is ready while its nodes answer', async () => {
    await expect(all, true);
    assert.deepEqual((await get(paths.native)).json, { name: 'native', ready: true });
    assert.deepEqual((await get(paths.kserve)).json, { name: 'kserve', ready: true });
    assert.deepEqual((await get(paths.server)).json, { ready: true });
  });

  test('a model going down turns every graph that needs it not ready, within seconds; back, ready', async (t) => {
    await stop('a');
    const down = await expect(['native', 'nesting', 'kserve', 'seldon', 'server'], false);
    assert.equal(await isReady('executor'), true, 'a graph that does not need it stays ready');
    const reply = await get(paths.native);
    assert.equal(reply.status, 503);
    assert.deepEqual(reply.json, {
      error: {
        graph: 'default/native',
        status: 503,
        reason:
          'not ready: a node it depends on has no healthy endpoint (health_check_failed_cluster_unhealthy)',
      },
    });
    await start('a');
    const up = await expect(all, true);
    t.diagnostic(
      `readiness turned in ${String(Math.round(down))} ms down, ${String(Math.round(up))} ms up`,
    );
  });

  test('an executor graph needs its nodes and the executor; a soft node does not count', async () => {
    await stop('b');
    await expect(['executor', 'server'], false);
    assert.equal(await isReady('tolerant'), true, 'b is soft there');
    assert.equal(await isReady('native'), true);
    await start('b');
    await expect(all, true);

    await stack.executor?.stop();
    stack.executor = undefined;
    await expect(['executor', 'tolerant', 'nesting'], false);
    assert.equal(await isReady('native'), true, 'a native graph never needs the executor');
    await stack.startExecutor();
    await expect(all, true);
  });
});
