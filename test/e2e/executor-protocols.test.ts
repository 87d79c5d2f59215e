import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { post, waitFor } from '../support/http.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Protocols through the executor: KServe V1, V2 and Seldon graphs, the
 * adapters between them, Seldon's meta, V2 health and metadata, and bodies
 * that are not JSON.
 */

function graph(name: string, protocol: string, entry: string, nodes: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: ${entry}
  protocol: ${protocol}
  nodes:
${nodes}`;
}

type SeldonBody = { data?: { ndarray?: number[][] }; meta?: Record<string, unknown> };

function seldonNumbers(json: unknown): number[] {
  return ((json as SeldonBody).data?.ndarray ?? []).flat();
}

describe('protocols through the executor and a real Envoy', () => {
  let shared: ScriptedServer;
  let seldonA: ScriptedServer;
  let seldonB: ScriptedServer;
  let stack: Stack;

  before(async () => {
    shared = await startScriptedServer({
      '/v1/models/v1-prep:predict': (r) => ({
        json: {
          instances: (r.json as { instances: number[][] }).instances.map((row) =>
            row.map((n) => n + 1),
          ),
        },
      }),
      '/v2/models/v2-double/infer': (r) => {
        const input = (r.json as { inputs: { shape: number[]; data: number[] }[] }).inputs[0];
        return {
          json: {
            model_name: 'v2-double',
            outputs: [
              {
                name: 'y',
                shape: input?.shape ?? [],
                datatype: 'FP64',
                data: (input?.data ?? []).map((n) => n * 2),
              },
            ],
          },
        };
      },
      '/v2/models/echo/infer': (r) => ({
        bytes: r.raw,
        headers: { 'content-type': String(r.headers['content-type']) },
      }),
      // A V2 transformer that answers the request it would send on, as JSON, whatever it got.
      '/v2/models/to-json/infer': () => ({
        json: { inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [5] }] },
      }),
      // A V2 model that answers one binary tensor, as kserve does when asked.
      '/v2/models/binary-out/infer': () => {
        const header = Buffer.from(
          JSON.stringify({
            outputs: [
              { name: 'y', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } },
            ],
          }),
        );
        return {
          bytes: Buffer.concat([header, Buffer.from([9, 0, 0, 0])]),
          headers: { 'inference-header-content-length': String(header.length) },
        };
      },
      '/v2/models/last/infer': () => ({
        json: { outputs: [{ name: 'z', shape: [1], datatype: 'INT32', data: [1] }] },
      }),
      '/transform-input': (r) => ({
        json: {
          data: { ndarray: [seldonNumbers(r.json).map((n) => n + 1)] },
          meta: { tags: { transformed: true } },
        },
      }),
      '/route': () => ({ json: { data: { ndarray: [[1]] } } }),
      '/send-feedback': () => ({ json: {} }),
    });
    const seldonModel = (tag: string, f: (n: number) => number) => ({
      '/send-feedback': () => ({ json: {} }),
      '/api/v1.0/predictions': (r: { json: unknown }) => ({
        json: {
          data: { names: ['y'], ndarray: [seldonNumbers(r.json).map(f)] },
          meta: { tags: { [tag]: true } },
        },
      }),
    });
    seldonA = await startScriptedServer(seldonModel('a', (n) => n * 10));
    seldonB = await startScriptedServer(seldonModel('b', (n) => n * 100));
    const at = (server: ScriptedServer) => `{ addresses: ["${server.address}"] }`;
    stack = await startStack('protocols', {
      'v1.yaml': graph(
        'v1-graph',
        'v1',
        'prep',
        `    prep: { kind: transformer, model: v1-prep, to: model, endpoint: ${at(shared)} }
    model: { kind: model, model: v2-double, protocol: v2, endpoint: ${at(shared)} }
`,
      ),
      'seldon.yaml': graph(
        'seldon-graph',
        'seldon',
        'prep',
        `    prep: { kind: transformer, to: pick, endpoint: ${at(shared)} }
    pick: { kind: router, children: [a, b], endpoint: ${at(shared)} }
    a: { kind: model, endpoint: ${at(seldonA)} }
    b: { kind: model, endpoint: ${at(seldonB)} }
`,
      ),
      'handoff-json.yaml': graph(
        'handoff-json',
        'v2',
        'pre',
        `    pre: { kind: transformer, model: to-json, to: m, endpoint: ${at(shared)} }
    m: { kind: model, model: last, endpoint: ${at(shared)} }
`,
      ),
      'handoff-binary.yaml': graph(
        'handoff-binary',
        'v2',
        'seq',
        `    seq: { kind: sequence, steps: [{ node: b }, { node: m }] }
    b: { kind: model, model: binary-out, endpoint: ${at(shared)} }
    m: { kind: model, model: last, endpoint: ${at(shared)} }
`,
      ),
      'binary.yaml': graph(
        'binary',
        'v2',
        'out',
        `    out: { kind: output-transformer, model: echo, to: pre, endpoint: ${at(shared)} }
    pre: { kind: transformer, model: echo, to: m, endpoint: ${at(shared)} }
    m: { kind: model, model: echo, endpoint: ${at(shared)} }
`,
      ),
    });
    await waitFor('the V1 graph to answer', async () => {
      try {
        const url = `${stack.base}/v1/models/v1-graph:predict`;
        return (await post(url, { instances: [[1]] })).status === 200;
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await stack.stop();
    await Promise.all([shared.stop(), seldonA.stop(), seldonB.stop()]);
  });

  test('a V1 graph: V1 transformer, then a V2 model through the V1 ↔ V2 adapter both ways', async () => {
    const reply = await post(`${stack.base}/v1/models/v1-graph:predict`, {
      instances: [
        [1, 2],
        [3, 4],
      ],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, {
      predictions: [
        [4, 6],
        [8, 10],
      ],
    });
    const seen = shared.requests.filter((r) => r.path === '/v2/models/v2-double/infer').at(-1);
    assert.deepEqual(seen?.json, {
      inputs: [{ name: 'input-0', shape: [2, 2], datatype: 'INT64', data: [2, 3, 4, 5] }],
    });
  });

  test('a Seldon graph: meta carries the puid, unioned tags, routing and requestPath', async () => {
    const reply = await post(`${stack.base}/api/v1.0/predictions`, {
      data: { ndarray: [[1, 2]] },
    });
    assert.equal(reply.status, 200, reply.text);
    const body = reply.json as SeldonBody;
    assert.deepEqual(seldonNumbers(body), [200, 300]);
    const meta = body.meta as {
      puid: string;
      tags: Record<string, unknown>;
      routing: Record<string, number>;
      requestPath: Record<string, string>;
    };
    assert.match(meta.puid, /^[0-9a-f]{32}$/);
    assert.deepEqual(meta.tags, { transformed: true, b: true });
    assert.deepEqual(meta.routing, { pick: 1 });
    assert.deepEqual(Object.keys(meta.requestPath).sort(), ['b', 'pick', 'prep']);
    assert.equal(seldonA.requests.length, 0, 'the router chose b alone');
  });

  test('a Seldon request that brings a puid keeps it', async () => {
    const reply = await post(`${stack.base}/api/v1.0/predictions`, {
      data: { ndarray: [[1]] },
      meta: { puid: 'client-chosen' },
    });
    assert.equal((reply.json as { meta: { puid: string } }).meta.puid, 'client-chosen');
  });

  test('Seldon feedback goes to /send-feedback of the nodes along the recorded routing', async () => {
    const prediction = await post(`${stack.base}/api/v1.0/predictions`, {
      data: { ndarray: [[1]] },
    });
    const feedback = {
      request: { data: { ndarray: [[1]] } },
      response: prediction.json,
      reward: 1,
      truth: { data: { ndarray: [[1000]] } },
    };
    const reply = await post(`${stack.base}/api/v1.0/feedback`, feedback);
    assert.equal(reply.status, 200, reply.text);
    const sent = (server: ScriptedServer) =>
      server.requests.filter((r) => r.path === '/send-feedback').map((r) => r.json);
    assert.deepEqual(sent(seldonB), [feedback]);
    assert.deepEqual(sent(seldonA), [], 'the router chose b: a never saw the request');
    assert.equal(sent(shared).length, 2, 'the transformer and the router');
  });

  test('a payload that is not JSON passes every step untouched, 2 MiB of it too', async () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024, 'binary\u0000\u00ff');
    const response = await request(`${stack.base}/v2/models/binary/infer`, {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const answer = Buffer.from(await response.body.arrayBuffer());
    assert.equal(response.statusCode, 200);
    assert.deepEqual(answer, bytes);
    assert.equal(response.headers['content-type'], 'application/octet-stream');
    const hops = shared.requests.filter((r) => r.path === '/v2/models/echo/infer').slice(-3);
    assert.equal(hops.length, 3);
    for (const hop of hops) assert.equal(hop.headers['content-type'], 'application/octet-stream');
  });

  test('a hand-off says what the prepared body is: inference-header-content-length set, or removed', async () => {
    const lastRequest = () =>
      shared.requests.filter((r) => r.path === '/v2/models/last/infer').at(-1) ??
      assert.fail('the last model got no request');
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } }],
      }),
    );
    const binary = await request(`${stack.base}/v2/models/handoff-json/infer`, {
      method: 'POST',
      body: Buffer.concat([header, Buffer.from([5, 0, 0, 0])]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
      },
    });
    assert.equal(binary.statusCode, 200, await binary.body.text());
    const json = lastRequest();
    assert.equal(
      json.headers['inference-header-content-length'],
      undefined,
      'the client’s is gone',
    );
    assert.equal(json.headers['content-type'], 'application/json');
    assert.deepEqual(json.json, {
      inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [5] }],
    });

    const chained = await post(`${stack.base}/v2/models/handoff-binary/infer`, {
      inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [1] }],
    });
    assert.equal(chained.status, 200, chained.text);
    const sent = lastRequest();
    const length = Number(sent.headers['inference-header-content-length']);
    assert.equal(sent.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(JSON.parse(sent.raw.subarray(0, length).toString()), {
      inputs: [{ name: 'y', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } }],
    });
    assert.deepEqual(sent.raw.subarray(length), Buffer.from([9, 0, 0, 0]));
  });

  test('V2 health and the graph’s metadata and readiness are answered by Envoy', async () => {
    const get = async (path: string) => {
      const response = await request(`${stack.base}${path}`);
      return { status: response.statusCode, json: await response.body.json() };
    };
    // The executor started after Envoy: its first health check may have found nobody.
    await waitFor(
      'the server to be ready',
      async () => (await get('/v2/health/ready')).status === 200,
    );
    assert.deepEqual(await get('/v2/health/live'), { status: 200, json: { live: true } });
    assert.deepEqual(await get('/v2/health/ready'), { status: 200, json: { ready: true } });
    assert.deepEqual(await get('/v2/models/binary/ready'), {
      status: 200,
      json: { name: 'binary', ready: true },
    });
    const metadata = await get('/v2/models/binary');
    assert.equal(metadata.status, 200);
    assert.equal((metadata.json as { name: string }).name, 'binary');
    assert.deepEqual(await get('/v1/models/v1-graph'), {
      status: 200,
      json: { name: 'v1-graph', ready: true },
    });
  });
});
