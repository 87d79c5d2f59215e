import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/ports.ts';
import { post, waitFor } from '../support/http.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Graphs of direct hops (spec.hops: direct) end to end: graph files →
 * control plane → a real Envoy as the ingress → the executor, which calls
 * the nodes' addresses itself. Every behaviour that could differ from hops
 * through Envoy: timeouts, retries, soft and hard failures, the error shape,
 * a node's 4xx, mirrors, nested graphs, balancing across addresses.
 */

type Tensor = { data: number[] };

function v2Request(data: number[]) {
  return { inputs: [{ name: 'x', shape: [data.length], datatype: 'FP64', data }] };
}

function v2Answer(model: string, data: number[]) {
  return {
    model_name: model,
    outputs: [{ name: 'y', shape: [data.length], datatype: 'FP64', data }],
  };
}

function numbers(json: unknown, key: 'inputs' | 'outputs'): number[] {
  return (json as Record<string, Tensor[] | undefined>)[key]?.[0]?.data ?? [];
}

function graph(name: string, entry: string, nodes: string, extra = ''): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: ${entry}
  hops: direct
${extra}  nodes:
${nodes}`;
}

/** Envoy sets it on every request it sends upstream: its absence shows no Envoy was on the way. */
const ENVOY_HEADER = 'x-envoy-expected-rq-timeout-ms';

describe('executor graphs with direct hops through a real Envoy ingress', () => {
  let models: ScriptedServer;
  let twin: ScriptedServer;
  let stack: Stack;
  const url = (graphName: string) => `${stack.base}/v2/models/${graphName}/infer`;
  const seen = (path: string, server = models) => server.requests.filter((r) => r.path === path);

  before(async () => {
    let flakyCalls = 0;
    let slowOnceCalls = 0;
    const double = (r: { json: unknown }) => ({
      json: v2Answer(
        'double',
        numbers(r.json, 'inputs').map((n) => n * 2),
      ),
    });
    models = await startScriptedServer({
      '/v2/models/plus-ten/infer': (r) => ({
        json: v2Request(numbers(r.json, 'inputs').map((n) => n + 10)),
      }),
      '/v2/models/double/infer': double,
      '/v2/models/triple/infer': (r) => ({
        json: v2Answer(
          'triple',
          numbers(r.json, 'inputs').map((n) => n * 3),
        ),
      }),
      // An output transformer gets the answer as a V2 request (a stock server's body).
      '/v2/models/wrap/infer': (r) => ({
        json: { model_name: 'wrapped', outputs: (r.json as { inputs: unknown }).inputs },
        headers: { 'x-from': 'wrap' },
      }),
      '/v2/models/sum/infer': (r) => {
        const responses = (r.json as { responses: { response: unknown }[] }).responses;
        const total = responses.reduce(
          (sum, c) => sum + (numbers(c.response, 'outputs')[0] ?? 0),
          0,
        );
        return { json: v2Answer('sum', [total]) };
      },
      // Fails every first and second call of three: a node that needs its retries.
      '/v2/models/flaky-twice/infer': (r) => {
        flakyCalls += 1;
        return flakyCalls % 3 === 0
          ? { json: v2Request(numbers(r.json, 'inputs')) }
          : { status: 503, text: 'warming up' };
      },
      '/v2/models/always-503/infer': () => ({ status: 503, text: 'still warming up' }),
      // Its first call outlasts the per-try timeout; the retry is answered at once.
      '/v2/models/slow-once/infer': (r) => {
        slowOnceCalls += 1;
        return {
          ...(slowOnceCalls === 1 && { delayMs: 1_500 }),
          json: v2Request(numbers(r.json, 'inputs')),
        };
      },
      '/v2/models/broken/infer': () => ({ status: 500, text: 'model exploded' }),
      '/v2/models/refuses/infer': () => ({ status: 422, text: 'bad tensor shape' }),
      '/v2/models/sleepy/infer': () => ({ delayMs: 2_000, json: v2Answer('sleepy', [0]) }),
      '/v2/models/shadow-model/infer': () => ({ json: v2Answer('shadow', [0]) }),
    });
    twin = await startScriptedServer({ '/v2/models/double/infer': double });
    const dead = `127.0.0.1:${String(await freePort())}`;
    const at = `["${models.address}"]`;
    const m = (name: string, model: string, rest = '') =>
      `    ${name}: { kind: model, model: ${model}, endpoint: { addresses: ${at} }${rest} }\n`;
    const t = (name: string, kind: string, model: string, to: string, rest = '') =>
      `    ${name}: { kind: ${kind}, model: ${model}, to: ${to}, endpoint: { addresses: ${at} }${rest} }\n`;
    stack = await startStack('direct-hops', {
      'transform.yaml': graph(
        'transform',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'm') + m('m', 'double'),
        '  propagateHeaders: [x-tenant]\n',
      ),
      'via-envoy.yaml': graph(
        'via-envoy',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'm') + m('m', 'double'),
      ).replace('hops: direct', 'hops: envoy'),
      'output.yaml': graph(
        'output',
        'post',
        t('post', 'output-transformer', 'wrap', 'm') + m('m', 'double'),
      ),
      'sequence.yaml': graph(
        'sequence',
        'seq',
        `    seq: { kind: sequence, steps: [{ node: a }, { node: b }] }\n` +
          m('a', 'double') +
          m('b', 'triple'),
      ),
      'combiner.yaml': graph(
        'combiner',
        'all',
        `    all: { kind: ensemble, children: [a, b], combiner: sum }
    sum: { kind: combiner, endpoint: { addresses: ${at} } }
` +
          m('a', 'double') +
          m('b', 'triple'),
      ),
      'mean.yaml': graph(
        'mean',
        'all',
        `    all: { kind: ensemble, children: [a, b], combine: mean }\n` +
          m('a', 'double') +
          m('b', 'triple'),
      ),
      'soft.yaml': graph(
        'soft',
        'seq',
        `    seq: { kind: sequence, steps: [{ node: flaky }, { node: m }] }\n` +
          m('flaky', 'broken', ', dependency: soft') +
          m('m', 'double'),
      ),
      'hard.yaml': graph(
        'hard',
        'seq',
        `    seq: { kind: sequence, steps: [{ node: flaky }, { node: m }] }\n` +
          m('flaky', 'broken') +
          m('m', 'double'),
      ),
      'refused.yaml': graph(
        'refused',
        'post',
        t('post', 'output-transformer', 'wrap', 'm') + m('m', 'refuses'),
      ),
      'refused-later.yaml': graph(
        'refused-later',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'm') + m('m', 'refuses'),
      ),
      'unreachable.yaml': graph(
        'unreachable',
        'post',
        t('post', 'output-transformer', 'wrap', 'm') +
          `    m: { kind: model, model: double, endpoint: { addresses: ["${dead}"] } }\n`,
      ),
      'deadline.yaml': graph(
        'deadline',
        'post',
        t('post', 'output-transformer', 'wrap', 's') + m('s', 'sleepy'),
        '  timeout: 500ms\n',
      ),
      'step-timeout.yaml': graph(
        'step-timeout',
        'post',
        t('post', 'output-transformer', 'wrap', 's') + m('s', 'sleepy', ', timeout: 300ms'),
      ),
      'retried.yaml': graph(
        'retried',
        'pre',
        t('pre', 'transformer', 'flaky-twice', 'm', ', retries: { attempts: 2, on: [5xx] }') +
          m('m', 'double'),
      ),
      'retries-spent.yaml': graph(
        'retries-spent',
        'pre',
        t('pre', 'transformer', 'always-503', 'm', ', retries: { attempts: 1, on: [5xx] }') +
          m('m', 'double'),
      ),
      'per-try.yaml': graph(
        'per-try',
        'pre',
        t(
          'pre',
          'transformer',
          'slow-once',
          'm',
          ', retries: { attempts: 1, perTryTimeout: 300ms, on: [5xx] }',
        ) + m('m', 'double'),
      ),
      'mirrored.yaml': graph(
        'mirrored',
        'mir',
        `    mir: { kind: mirror, to: pre, shadow: s }\n` +
          t('pre', 'transformer', 'plus-ten', 'm') +
          m('m', 'double') +
          m('s', 'shadow-model'),
      ),
      'inner.yaml': graph('inner', 'm', m('m', 'double')).replace('hops: direct', 'hops: envoy'),
      'nested.yaml': graph(
        'nested',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'in') + `    in: { kind: graph, graph: inner }\n`,
      ),
      'balanced.yaml': graph(
        'balanced',
        'post',
        t('post', 'output-transformer', 'wrap', 'm') +
          `    m: { kind: model, model: double, endpoint: { addresses: ["${models.address}", "${twin.address}"] } }\n`,
      ),
    });
    await waitFor('the graphs to answer', async () => {
      try {
        return (await post(url('balanced'), v2Request([1]))).status === 200;
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await stack.stop();
    await models.stop();
    await twin.stop();
  });

  test('the executor calls the nodes itself, with trace context and declared headers; hops: envoy goes through Envoy', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const reply = await post(url('transform'), v2Request([1, 2]), {
      'x-tenant': 'acme',
      'x-other': 'private',
      traceparent,
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, v2Answer('double', [22, 24]));
    for (const path of ['/v2/models/plus-ten/infer', '/v2/models/double/infer']) {
      const hop = seen(path).at(-1);
      assert.ok(hop);
      assert.equal(hop.headers[ENVOY_HEADER], undefined, `${path} was reached through Envoy`);
      assert.equal(hop.headers.traceparent, traceparent);
      assert.equal(hop.headers['x-tenant'], 'acme');
      assert.equal(hop.headers['x-other'], undefined);
    }
    const throughEnvoy = await post(url('via-envoy'), v2Request([1, 2]));
    assert.equal(throughEnvoy.status, 200, throughEnvoy.text);
    assert.ok(seen('/v2/models/plus-ten/infer').at(-1)?.headers[ENVOY_HEADER] !== undefined);
  });

  test('Envoy routes the graph to the executor as an upstream: no ext_proc hand-off', () => {
    const executors = stack.controlPlane
      .status()
      .graphs.find((g) => g.id === 'default/sequence')?.executors;
    assert.deepEqual(executors, [{ entry: 'seq', transport: 'upstream' }]);
  });

  test('sequence, output transformer, built-in and user combiners answer as with Envoy hops', async () => {
    const sequence = await post(url('sequence'), v2Request([1, 2]));
    assert.equal(sequence.status, 200, sequence.text);
    assert.deepEqual(sequence.json, v2Answer('triple', [6, 12]));
    const output = await post(url('output'), v2Request([1]));
    assert.equal(output.status, 200, output.text);
    assert.deepEqual(output.json, { ...v2Answer('double', [2]), model_name: 'wrapped' });
    assert.equal(output.headers['x-from'], 'wrap');
    const combined = await post(url('combiner'), v2Request([5]));
    assert.deepEqual(combined.json, v2Answer('sum', [25]));
    const mean = await post(url('mean'), v2Request([2]));
    assert.deepEqual(numbers(mean.json, 'outputs'), [5]);
  });

  test('a soft node’s failure is recorded; a hard one is a 502 in the error shape naming it', async () => {
    const soft = await post(url('soft'), v2Request([1]));
    assert.equal(soft.status, 200, soft.text);
    assert.deepEqual(soft.json, v2Answer('double', [2]));
    assert.match(
      String(soft.headers['x-switchyard-soft-failures']),
      /^flaky=502 .*500: model exploded/,
    );
    const hard = await post(url('hard'), v2Request([1]));
    assert.equal(hard.status, 502);
    assert.deepEqual(hard.json, {
      error: {
        graph: 'default/hard',
        node: 'flaky',
        status: 502,
        reason: 'the node answered 500: model exploded',
      },
    });
  });

  test('a node’s 4xx: the client’s own payload refused is the client’s error, another node’s answer a 502; an unreachable node a 502', async () => {
    const refused = await post(url('refused'), v2Request([1]));
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.json, {
      error: {
        graph: 'default/refused',
        node: 'm',
        status: 422,
        reason: 'the node answered 422: bad tensor shape',
      },
    });
    const later = await post(url('refused-later'), v2Request([1]));
    assert.equal(later.status, 502);
    assert.deepEqual(later.json, {
      error: {
        graph: 'default/refused-later',
        node: 'm',
        status: 502,
        reason: 'the node answered 422: bad tensor shape',
      },
    });
    const unreachable = await post(url('unreachable'), v2Request([1]));
    assert.equal(unreachable.status, 502);
    const error = (unreachable.json as { error: Record<string, unknown> }).error;
    assert.equal(error.node, 'm');
    assert.match(String(error.reason), /^could not call the node: /);
  });

  test('the graph’s deadline and a step’s own timeout are 504s in the error shape, on time', async () => {
    let started = Date.now();
    const deadline = await post(url('deadline'), v2Request([1]));
    assert.equal(deadline.status, 504, deadline.text);
    assert.equal((deadline.json as { error: { node: string } }).error.node, 's');
    assert.ok(Date.now() - started < 1_900, 'answered at the deadline, not after the model');
    started = Date.now();
    const step = await post(url('step-timeout'), v2Request([1]));
    const elapsed = Date.now() - started;
    assert.equal(step.status, 504, step.text);
    assert.equal((step.json as { error: { node: string } }).error.node, 's');
    assert.ok(elapsed >= 290 && elapsed < 1_500, `took ${String(elapsed)} ms`);
  });

  test('a node’s retries: failures retried up to its attempts, then the last answer is the error', async () => {
    const before = seen('/v2/models/flaky-twice/infer').length;
    const retried = await post(url('retried'), v2Request([1]));
    assert.equal(retried.status, 200, retried.text);
    assert.deepEqual(retried.json, v2Answer('double', [2]));
    assert.equal(seen('/v2/models/flaky-twice/infer').length - before, 3);
    const spent = await post(url('retries-spent'), v2Request([1]));
    assert.equal(spent.status, 502);
    assert.equal(
      (spent.json as { error: { reason: string } }).error.reason,
      'the node answered 503: still warming up',
    );
    assert.equal(seen('/v2/models/always-503/infer').length, 2, 'the first try and one retry');
  });

  test('a try past its per-try timeout is retried, within the step’s budget', async () => {
    const started = Date.now();
    const reply = await post(url('per-try'), v2Request([1]));
    const elapsed = Date.now() - started;
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, v2Answer('double', [2]));
    assert.equal(seen('/v2/models/slow-once/infer').length, 2);
    assert.ok(elapsed < 1_400, `waited for the slow try: ${String(elapsed)} ms`);
  });

  test('a mirror: the answer comes from the primary, the shadow gets a copy directly', async () => {
    const reply = await post(url('mirrored'), v2Request([1]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, v2Answer('double', [22]));
    await waitFor(
      'the shadow to get its copy',
      () => seen('/v2/models/shadow-model/infer').length > 0,
    );
    assert.equal(seen('/v2/models/shadow-model/infer').at(-1)?.headers[ENVOY_HEADER], undefined);
  });

  test('a nested graph is still called through Envoy, on its own route and plan', async () => {
    const reply = await post(url('nested'), v2Request([1]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, v2Answer('double', [22]));
  });

  test('calls are spread over a node’s addresses', async () => {
    for (let i = 0; i < 20; i++) {
      const reply = await post(url('balanced'), v2Request([i]));
      assert.equal(reply.status, 200, reply.text);
    }
    assert.ok(seen('/v2/models/double/infer', twin).length > 0, 'the second address got none');
  });
});
