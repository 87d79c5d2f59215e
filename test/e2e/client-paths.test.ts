import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { post, v2Payload, waitFor } from '../support/http.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The paths KServe and Seldon clients call, through a real Envoy: the Open
 * Inference Protocol's server metadata and versioned model paths, KServe
 * V1's liveness and explanations, Seldon Core's gateway paths, and the root
 * path KServe InferenceGraph clients post to; the graphs' own paths keep
 * working beside them.
 */

const packageVersion = (
  JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
    version: string;
  }
).version;

function graph(name: string, spec: string, nodes: string, namespace?: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name}${namespace === undefined ? '' : `, namespace: ${namespace}`} }
spec:
${spec}  nodes:
${nodes}`;
}

type Reply = { status: number; json: unknown; text: string };

describe('the paths clients call, through a real Envoy', () => {
  let server: ScriptedServer;
  let stack: Stack;

  before(async () => {
    const v2 = (model: string) => ({
      [`/v2/models/${model}/infer`]: () => ({
        json: {
          model_name: model,
          outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [1] }],
        },
      }),
    });
    server = await startScriptedServer({
      ...v2('iris'),
      ...v2('other'),
      '/v1/models/income:predict': () => ({ json: { predictions: [1] } }),
      '/v1/models/income:explain': (r) => ({ json: { explanations: r.json } }),
      '/api/v1.0/predictions': (r) => ({
        json: { data: { ndarray: [[7]] }, meta: { tags: { got: r.path } } },
      }),
    });
    const at = `{ addresses: ["${server.address}"] }`;
    stack = await startStack('client-paths', {
      'graphs.yaml': [
        graph('iris', '  entry: m\n', `    m: { kind: model, model: iris, endpoint: ${at} }\n`),
        graph(
          'ensemble',
          '  entry: e\n',
          `    e: { kind: ensemble, children: [a, b], combine: merge }
    a: { kind: model, model: iris, endpoint: ${at} }
    b: { kind: model, model: other, endpoint: ${at} }
`,
        ),
        graph(
          'income',
          '  entry: m\n  protocol: v1\n  explainer: m\n',
          `    m: { kind: model, model: income, endpoint: ${at} }\n`,
        ),
        graph(
          'plain',
          '  entry: m\n  protocol: v1\n',
          `    m: { kind: model, model: income, endpoint: ${at} }\n`,
        ),
        graph(
          'seldon-dep',
          '  entry: m\n  protocol: seldon\n',
          `    m: { kind: model, endpoint: ${at} }\n`,
        ),
        graph(
          'fraud',
          '  entry: m\n  protocol: seldon\n  host: seldon.example.com\n',
          `    m: { kind: model, endpoint: ${at} }\n`,
          'prod',
        ),
        graph(
          'pipeline',
          '  entry: m\n  host: pipeline.example.com\n',
          `    m: { kind: model, model: iris, endpoint: ${at} }\n`,
        ),
      ].join('---\n'),
    });
    await waitFor('the graphs to answer', async () => {
      try {
        return (await post(`${stack.base}/v2/models/ensemble/infer`)).status === 200;
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await stack.stop();
    await server.stop();
  });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    host?: string,
  ): Promise<Reply> {
    const response = await request(`${stack.base}${path}`, {
      method,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      headers: { 'content-type': 'application/json', ...(host !== undefined && { host }) },
    });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, json, text };
  }

  test('GET /v2: the server’s metadata', async () => {
    const reply = await call('GET', '/v2');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json, { name: 'switchyard', version: packageVersion, extensions: [] });
  });

  test('versioned V2 paths route like the unversioned ones, native and executor graphs', async () => {
    for (const name of ['iris', 'ensemble']) {
      const plain = await call('POST', `/v2/models/${name}/infer`, v2Payload);
      const versioned = await call('POST', `/v2/models/${name}/versions/7/infer?x=1`, v2Payload);
      assert.equal(versioned.status, 200, versioned.text);
      assert.deepEqual(versioned.json, plain.json);
      await waitFor(`${name} to be ready`, async () => {
        return (await call('GET', `/v2/models/${name}/versions/7/ready`)).status === 200;
      });
      assert.deepEqual((await call('GET', `/v2/models/${name}/versions/7/ready`)).json, {
        name,
        ready: true,
      });
      const metadata = await call('GET', `/v2/models/${name}/versions/7`);
      assert.equal(metadata.status, 200);
      assert.equal((metadata.json as { name: string }).name, name);
    }
    const seen = server.requests.length;
    const unknown = await call('POST', '/v2/models/iris/versions/7/explain', v2Payload);
    assert.equal(unknown.status, 404);
    assert.equal(server.requests.length, seen, 'no request reached a model');
    const twice = await call('POST', '/v2/models/iris/versions/7/versions/8/infer', v2Payload);
    assert.equal(twice.status, 200, twice.text);
  });

  test('KServe V1: GET / says the server is alive; :explain goes to the explainer, or says there is none', async () => {
    assert.deepEqual(await call('GET', '/'), {
      status: 200,
      json: { status: 'alive' },
      text: '{"status":"alive"}',
    });
    const explained = await call('POST', '/v1/models/income:explain', { instances: [[1, 2]] });
    assert.equal(explained.status, 200, explained.text);
    assert.deepEqual(explained.json, { explanations: { instances: [[1, 2]] } });
    const none = await call('POST', '/v1/models/plain:explain', { instances: [[1, 2]] });
    assert.equal(none.status, 404);
    assert.deepEqual(none.json, {
      error: {
        graph: 'default/plain',
        node: 'explainer',
        status: 404,
        reason: 'graph "plain" has no explainer (spec.explainer names the node that explains)',
      },
    });
    const predicted = await call('POST', '/v1/models/income:predict', { instances: [[1, 2]] });
    assert.deepEqual(predicted.json, { predictions: [1] });
  });

  test('Seldon Core’s gateway paths reach the deployment, with and without its namespace', async () => {
    const message = { data: { ndarray: [[1, 2]] } };
    for (const path of [
      '/seldon/default/seldon-dep/api/v1.0/predictions',
      '/seldon/seldon-dep/api/v1.0/predictions',
      '/api/v1.0/predictions',
    ]) {
      const reply = await call('POST', path, message);
      assert.equal(reply.status, 200, `${path}: ${reply.text}`);
      assert.deepEqual((reply.json as { data: unknown }).data, { ndarray: [[7]] });
      assert.equal(server.requests.at(-1)?.path, '/api/v1.0/predictions', 'the model’s own path');
    }
    const namespaced = await call(
      'POST',
      '/seldon/prod/fraud/api/v1.0/predictions',
      message,
      'seldon.example.com',
    );
    assert.equal(namespaced.status, 200, namespaced.text);
    const wrongNamespace = await call(
      'POST',
      '/seldon/default/fraud/api/v1.0/predictions',
      message,
    );
    assert.equal(wrongNamespace.status, 404);
  });

  test('POST / runs the one graph served on a host, and says why not where there are several', async () => {
    const root = await call('POST', '/', v2Payload, 'pipeline.example.com');
    const own = await call('POST', '/v2/models/pipeline/infer', v2Payload, 'pipeline.example.com');
    assert.equal(root.status, 200, root.text);
    assert.deepEqual(root.json, own.json);
    const crowded = await call('POST', '/', v2Payload);
    assert.equal(crowded.status, 404);
    assert.match(
      (crowded.json as { error: { reason: string } }).error.reason,
      /^\d+ graphs are served on this host, so its root path names none/,
    );
  });
});
