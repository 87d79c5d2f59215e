import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { post, v2Payload, waitFor } from '../support/http.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * What nodes answer, as it reaches the client through a real Envoy on every
 * path (native, the executor as upstream, ext_proc's hand-off and its own
 * answers, nested graphs): error pages in any script arrive readable, in
 * valid header bytes, and a node's 4xx to the client's own payload is the
 * client's error.
 */

const CYRILLIC = 'Ошибка сервера: модель недоступна';
const CJK = '服务器错误：模型不可用';

function graph(name: string, entry: string, nodes: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: ${entry}
  nodes:
${nodes}`;
}

const outputs = { outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [1] }] };

describe('node answers through a real Envoy: readable error pages, the client’s 4xx', () => {
  let server: ScriptedServer;
  let stack: Stack;

  before(async () => {
    server = await startScriptedServer({
      // Refuses a body that is not JSON, as model servers do.
      '/v2/models/good/infer': (r) =>
        r.json === undefined
          ? { status: 400, json: { error: 'the body is not JSON' } }
          : { json: outputs },
      '/v2/models/picky/infer': (r) =>
        r.body.includes('bad')
          ? { status: 422, json: { error: 'unprocessable' } }
          : { json: outputs },
      '/v2/models/refuser/infer': () => ({ status: 400, json: { error: 'never' } }),
      '/v2/models/cyrillic/infer': () => ({
        status: 500,
        text: CYRILLIC,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      }),
      '/v2/models/cjk/infer': () => ({
        status: 503,
        text: CJK,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      }),
    });
    const node = (name: string, model: string, extra = '') =>
      `    ${name}: { kind: model, model: ${model}, endpoint: { addresses: ["${server.address}"] }${extra} }\n`;
    const soft = ', dependency: soft';
    stack = await startStack('node-answers', {
      'graphs.yaml': [
        // Native: Envoy forwards the model's answer as it is.
        graph('native', 'm', node('m', 'good')),
        graph('native-page', 'm', node('m', 'cyrillic')),
        // The executor as upstream: it answers every request itself.
        graph(
          'ensemble',
          'e',
          `    e: { kind: ensemble, children: [ok, ru, zh], combine: merge }\n${node('ok', 'good')}${node('ru', 'cyrillic', soft)}${node('zh', 'cjk', soft)}`,
        ),
        graph(
          'pair',
          'e',
          `    e: { kind: ensemble, children: [a, b], combine: merge }\n${node('a', 'good')}${node('b', 'good')}`,
        ),
        // ext_proc: a soft step fails, then the last model is handed back to Envoy...
        graph(
          'handoff',
          'q',
          `    q: { kind: sequence, steps: [{ node: ru }, { node: zh }, { node: m }] }\n${node('ru', 'cyrillic', soft)}${node('zh', 'cjk', soft)}${node('m', 'picky')}`,
        ),
        // ...or, on one branch of a switch the executor runs, it answers itself.
        graph(
          'mixed',
          'pick',
          `    pick:
      kind: switch
      cases:
        - { when: { body: "$.route", equals: ensemble }, to: e }
        - { when: { body: "$.route", equals: chain }, to: chain }
        - { when: { body: "$.route", equals: first }, to: first }
      default: m
    e: { kind: ensemble, children: [ok, ru], combine: merge }
    chain: { kind: sequence, steps: [{ node: ok }, { node: refuses }] }
    first: { kind: sequence, steps: [{ node: refuses }, { node: ok }] }
${node('ok', 'good')}${node('ru', 'cyrillic', soft)}${node('refuses', 'refuser')}${node('m', 'picky')}`,
        ),
        // A nested graph: the inner one is native.
        graph(
          'outer',
          'q',
          `    q: { kind: sequence, steps: [{ node: inner }] }\n    inner: { kind: graph, graph: native }\n`,
        ),
      ].join('---\n'),
    });
    await waitFor('the graphs to answer', async () => {
      try {
        return (await post(`${stack.base}/v2/models/pair/infer`)).status === 200;
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await stack.stop();
    await server.stop();
  });

  const url = (name: string) => `${stack.base}/v2/models/${name}/infer`;

  async function send(name: string, body: unknown) {
    const response = await request(url(name), {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text, json };
  }

  /** The soft failures reported, decoded, in node order (children fail in any order). */
  function softFailures(headers: Record<string, string | string[] | undefined>): string[] {
    const value = headers['x-switchyard-soft-failures'];
    assert.equal(typeof value, 'string', 'the soft failures are reported');
    assert.match(value as string, /^[\x20-\x7e]+$/, 'in visible ASCII');
    return decodeURIComponent(value as string)
      .split('; ')
      .sort();
  }

  test('native: a model’s error page in any script reaches the client as it wrote it', async () => {
    const reply = await send('native-page', v2Payload);
    assert.equal(reply.status, 500);
    assert.equal(reply.text, CYRILLIC);
  });

  test('the executor as upstream: soft failures with non-ASCII pages, percent-encoded', async () => {
    const reply = await send('ensemble', v2Payload);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(softFailures(reply.headers), [
      `ru=502 the node answered 500: ${CYRILLIC}`,
      `zh=502 the node answered 503: ${CJK}`,
    ]);
  });

  test('ext_proc, handed off to Envoy: the soft failures travel in the route’s headers', async () => {
    const reply = await send('handoff', v2Payload);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(softFailures(reply.headers), [
      `ru=502 the node answered 500: ${CYRILLIC}`,
      `zh=502 the node answered 503: ${CJK}`,
    ]);
  });

  test('ext_proc, answered by the executor itself: the same', async () => {
    const reply = await send('mixed', { ...v2Payload, route: 'ensemble' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(softFailures(reply.headers), [`ru=502 the node answered 500: ${CYRILLIC}`]);
  });

  test('native: a model’s 400 to a body that is not JSON is the client’s, as the model wrote it', async () => {
    const reply = await send('native', 'not json');
    assert.equal(reply.status, 400);
    assert.deepEqual(reply.json, { error: 'the body is not JSON' });
  });

  test('the executor as upstream: the same body sent to an ensemble is the client’s 400 too', async () => {
    const reply = await send('pair', 'not json');
    assert.equal(reply.status, 400, reply.text);
    const error = (reply.json as { error: Record<string, unknown> }).error;
    assert.equal(error.graph, 'default/pair');
    assert.equal(error.status, 400);
    assert.match(String(error.reason), /^the node answered 400: /);
  });

  test('ext_proc: a handed-off model’s 422 reaches the client with its status', async () => {
    const reply = await send('handoff', { ...v2Payload, parameters: { bad: true } });
    assert.equal(reply.status, 422, reply.text);
    assert.deepEqual(reply.json, { error: 'unprocessable' });
  });

  test('ext_proc: the first step’s 400 is the client’s; a handed-off last step fed by another node’s answer is a 502', async () => {
    const first = await send('mixed', { ...v2Payload, route: 'first' });
    assert.equal(first.status, 400, first.text);
    assert.equal((first.json as { error: { node: string } }).error.node, 'refuses');
    // The last step is handed off to Envoy, which holds its answer to the same rule.
    const later = await send('mixed', { ...v2Payload, route: 'chain' });
    assert.equal(later.status, 502, later.text);
    assert.equal(later.headers['content-type'], 'application/json');
    assert.deepEqual(later.json, {
      error: {
        graph: 'default/mixed',
        node: 'refuses',
        status: 502,
        reason: 'the node answered 400: {"error":"never"}',
      },
    });
  });

  test('a nested graph’s 400 to the client’s payload is the client’s error', async () => {
    const reply = await send('outer', 'not json');
    assert.equal(reply.status, 400, reply.text);
    assert.equal((reply.json as { error: { node: string } }).error.node, 'inner');
  });
});
