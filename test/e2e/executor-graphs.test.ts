import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { post, waitFor } from '../support/http.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { renderStatus } from '../../src/controller/status.ts';

/**
 * The executor's node kinds end to end: graph files → control plane → a
 * real Envoy → the executor (an upstream of Envoy, or its ext_proc service
 * where a plan may hand off) → real HTTP servers on loopback.
 */

type Tensor = { name: string; shape: number[]; datatype: string; data: number[] };

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
  const tensors = (json as Record<string, Tensor[] | undefined>)[key] ?? [];
  return tensors[0]?.data ?? [];
}

/** A V2 model that applies `f` to every number of its first input. */
function v2Model(model: string, f: (n: number) => number) {
  return {
    [`/v2/models/${model}/infer`]: (r: { json: unknown }) => ({
      json: v2Answer(model, numbers(r.json, 'inputs').map(f)),
    }),
  };
}

/** A V2 transformer: rewrites the request's numbers, answers a request. */
function v2Transformer(model: string, f: (n: number) => number) {
  return {
    [`/v2/models/${model}/infer`]: (r: { json: unknown }) => ({
      json: v2Request(numbers(r.json, 'inputs').map(f)),
    }),
  };
}

function graph(name: string, entry: string, nodes: string, extra = ''): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: ${entry}
${extra}  nodes:
${nodes}`;
}

describe('executor graphs through a real Envoy', () => {
  let models: ScriptedServer;
  let stack: Stack;
  const at = () => `["${models.address}"]`;
  const url = (graphName: string) => `${stack.base}/v2/models/${graphName}/infer`;

  before(async () => {
    let flakyCalls = 0;
    models = await startScriptedServer({
      // Fails every first and second call of three: a node that needs its retries.
      '/v2/models/flaky-twice/infer': (r) => {
        flakyCalls += 1;
        return flakyCalls % 3 === 0
          ? { json: v2Request(numbers(r.json, 'inputs')) }
          : { status: 503, text: 'warming up' };
      },
      '/v2/models/shadow-model/infer': () => ({ json: v2Answer('shadow', [0]) }),
      '/v2/models/nap/infer': (r) => ({
        delayMs: 200,
        json: v2Answer('nap', numbers(r.json, 'inputs')),
      }),
      ...v2Transformer('plus-ten', (n) => n + 10),
      ...v2Model('double', (n) => n * 2),
      ...v2Model('negate', (n) => -n),
      ...v2Model('square', (n) => n * n),
      ...v2Model('triple', (n) => n * 3),
      // An output transformer: gets its child's answer as an inference request, answers it.
      '/v2/models/wrap/infer': (r) => ({
        json: { model_name: 'wrapped', outputs: (r.json as { inputs: unknown }).inputs },
        headers: { 'x-from': 'wrap' },
      }),
      '/v2/models/pick-second/infer': () => ({ json: v2Answer('router', [1]) }),
      '/v2/models/pick-all/infer': () => ({ json: [[-1]] }),
      '/v2/models/pick-self/infer': () => ({ json: { outputs: [{ data: [[-2]] }] } }),
      '/v2/models/pick-nine/infer': () => ({ json: [9] }),
      '/v2/models/sum/infer': (r) => {
        const responses = (r.json as { responses: { name: string; response: unknown }[] })
          .responses;
        const total = responses.map((c) => numbers(c.response, 'outputs')[0] ?? 0);
        return {
          json: {
            ...v2Answer('sum', [total.reduce((a, b) => a + b, 0)]),
            parameters: { children: responses.map((c) => c.name).join(',') },
          },
        };
      },
      '/v2/models/broken/infer': () => ({ status: 500, text: 'model exploded' }),
      '/v2/models/garbage/infer': () => ({ text: 'not json at all' }),
      '/v2/models/sleepy/infer': () => ({ delayMs: 2_000, json: v2Answer('sleepy', [0]) }),
      '/v2/models/stream/infer': () => ({
        chunks: ['data: one\n\n', 'data: two\n\n', 'data: three\n\n'],
      }),
      '/v1/models/v1-double:predict': (r) => ({
        json: {
          predictions: (r.json as { instances: number[] }).instances.flat().map((n) => n * 2),
        },
      }),
    });
    const m = (name: string, model: string, rest = '') =>
      `    ${name}: { kind: model, model: ${model}, endpoint: { addresses: ${at()} }${rest} }\n`;
    const t = (name: string, kind: string, model: string, to: string, rest = '') =>
      `    ${name}: { kind: ${kind}, model: ${model}, to: ${to}, endpoint: { addresses: ${at()} }${rest} }\n`;
    stack = await startStack('executor', {
      'transform.yaml': graph(
        'transform',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'm') + m('m', 'double'),
      ),
      'output.yaml': graph(
        'output',
        'post',
        t('post', 'output-transformer', 'wrap', 'm') + m('m', 'double'),
      ),
      'sequence.yaml': graph(
        'sequence',
        'seq',
        `    seq:
      kind: sequence
      steps: [{ node: a }, { node: b }, { node: c, input: request }, { node: d, input: a }]
` +
          m('a', 'double') +
          m('b', 'negate') +
          m('c', 'square') +
          m('d', 'triple'),
        '  returnOutputs: [a, c]\n',
      ),
      'stop.yaml': graph(
        'stop',
        'seq',
        `    seq:
      kind: sequence
      steps: [{ node: a }, { node: b }]
      stopWhen: { body: "$.outputs[0].data[0]", gt: 5 }
` +
          m('a', 'double') +
          m('b', 'negate'),
      ),
      'mean.yaml': graph(
        'mean',
        'all',
        `    all: { kind: ensemble, children: [a, b, c], combine: mean }\n` +
          m('a', 'double') +
          m('b', 'triple') +
          m('c', 'square'),
      ),
      'combiner.yaml': graph(
        'combiner',
        'all',
        `    all: { kind: ensemble, children: [a, b], combiner: sum, then: post }
    sum: { kind: combiner, endpoint: { addresses: ${at()} } }
` +
          m('a', 'double') +
          m('b', 'triple') +
          m('post', 'negate'),
      ),
      'router.yaml': graph(
        'router',
        'r',
        `    r: { kind: router, model: pick-second, children: [a, b], endpoint: { addresses: ${at()} } }\n` +
          m('a', 'double') +
          m('b', 'negate'),
      ),
      'router-all.yaml': graph(
        'router-all',
        'r',
        `    r: { kind: router, model: pick-all, children: [a, b], endpoint: { addresses: ${at()} } }\n` +
          m('a', 'double') +
          m('b', 'negate'),
      ),
      'router-self.yaml': graph(
        'router-self',
        'r',
        `    r: { kind: router, model: pick-self, children: [a], then: b, endpoint: { addresses: ${at()} } }\n` +
          m('a', 'double') +
          m('b', 'negate'),
      ),
      'router-bad.yaml': graph(
        'router-bad',
        'r',
        `    r: { kind: router, model: pick-nine, children: [a, b], endpoint: { addresses: ${at()} } }\n` +
          m('a', 'double') +
          m('b', 'negate'),
      ),
      'switch.yaml': graph(
        'switch',
        'sw',
        `    sw:
      kind: switch
      cases:
        - { when: { body: "$.inputs[0].data[0]", gt: 100 }, to: big }
        - { when: { body: "$.parameters.tier", in: [gold, platinum] }, to: gold }
      default: other
` +
          m('big', 'negate') +
          m('gold', 'triple') +
          m('other', 'double'),
      ),
      'switch-strict.yaml': graph(
        'switch-strict',
        'sw',
        `    sw:
      kind: switch
      cases: [{ when: { body: "$.parameters.tier", exists: true }, to: a }]
` + m('a', 'double'),
      ).replace('exists: true', 'present: true'),
      'nested.yaml': graph(
        'nested',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'inner') +
          `    inner: { kind: graph, graph: transform }\n`,
      ),
      'mixed.yaml': graph(
        'mixed',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'm') + m('m', 'v1-double', ', protocol: v1'),
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
      'garbage.yaml': graph(
        'garbage',
        'all',
        `    all: { kind: ensemble, children: [g, m], combine: mean }\n` +
          m('g', 'garbage') +
          m('m', 'double'),
      ),
      'deadline.yaml': graph(
        'deadline',
        'post',
        t('post', 'output-transformer', 'wrap', 's') + m('s', 'sleepy'),
        '  timeout: 500ms\n',
      ),
      'stream.yaml': graph(
        'stream',
        'pre',
        t('pre', 'transformer', 'plus-ten', 's') + m('s', 'stream'),
      ),
      'retried.yaml': graph(
        'retried',
        'out',
        t('out', 'output-transformer', 'wrap', 'pre') +
          t(
            'pre',
            'transformer',
            'flaky-twice',
            'm',
            ', propagateHeaders: [x-step], retries: { attempts: 2, on: [5xx] }',
          ) +
          m('m', 'double'),
      ),
      'mirrored.yaml': graph(
        'mirrored',
        'mir',
        `    mir: { kind: mirror, to: pre, shadow: s }\n` +
          t('pre', 'transformer', 'plus-ten', 'm') +
          m('m', 'double') +
          m('s', 'shadow-model'),
      ),
      'parallel.yaml': graph(
        'parallel',
        'all',
        `    all: { kind: ensemble, children: [a, b, c], combine: mean }\n` +
          m('a', 'nap') +
          m('b', 'nap') +
          m('c', 'nap'),
      ),
      'step-timeout.yaml': graph(
        'step-timeout',
        'post',
        t('post', 'output-transformer', 'wrap', 's') + m('s', 'sleepy', ', timeout: 300ms'),
      ),
      'v1-entry.yaml': graph('v1-entry', 'm', m('m', 'v1-double', ', protocol: v1')),
      'limited-answer.yaml': graph(
        'limited-answer',
        'post',
        t('post', 'output-transformer', 'wrap', 'm') + m('m', 'double'),
        '  maxRequestBytes: 1000\n',
      ),
      // The plan rides in a header Envoy formats: a "%" in it must arrive as written.
      'percent.yaml': graph(
        'percent',
        'sw',
        `    sw:
      kind: switch
      cases: [{ when: { body: "$.inputs[0].datatype", equals: "100%" }, to: post }]
` +
          t('post', 'output-transformer', 'wrap', 'm') +
          m('m', 'double'),
      ),
      'limited.yaml': graph(
        'limited',
        'pre',
        t('pre', 'transformer', 'plus-ten', 'm') + m('m', 'double'),
        '  maxRequestBytes: 1000\n  propagateHeaders: [x-tenant]\n',
      ),
    });
    await waitFor('the executor graphs to answer', async () => {
      try {
        return (await post(url('transform'), v2Request([1]))).status === 200;
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await stack.stop();
    await models.stop();
  });

  test('transformer: the model gets the transformed request, the client the model’s answer', async () => {
    const reply = await post(url('transform'), v2Request([1, 2]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, v2Answer('double', [22, 24]));
    const seen = models.requests.filter((r) => r.path === '/v2/models/double/infer').at(-1);
    assert.deepEqual(seen?.json, v2Request([11, 12]));
  });

  test('output transformer: rewrites the model’s answer; its headers reach the client', async () => {
    const reply = await post(url('output'), v2Request([1, 2]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, { ...v2Answer('double', [2, 4]), model_name: 'wrapped' });
    assert.equal(reply.headers['x-from'], 'wrap');
  });

  test('sequence: each step reads the previous answer, the request or a named step', async () => {
    const reply = await post(url('sequence'), v2Request([1, 2]));
    assert.equal(reply.status, 200, reply.text);
    // a: [2,4]; b(a): [-2,-4]; c(request): [1,4]; d(a): [6,12]; a and c returned beside it.
    assert.deepEqual(reply.json, {
      ...v2Answer('triple', [6, 12]),
      intermediate_outputs: { a: v2Answer('double', [2, 4]), c: v2Answer('square', [1, 4]) },
    });
  });

  test('sequence: stopWhen ends it early with the answer so far', async () => {
    const stopped = await post(url('stop'), v2Request([3]));
    assert.deepEqual(stopped.json, v2Answer('double', [6]));
    assert.match(String(stopped.headers['x-switchyard-routing']), /seq=stopped after a/);
    const through = await post(url('stop'), v2Request([1]));
    assert.deepEqual(through.json, v2Answer('negate', [-2]));
  });

  test('ensemble: children run in parallel and a built-in mean combines them', async () => {
    const reply = await post(url('mean'), v2Request([1, 2]));
    assert.equal(reply.status, 200, reply.text);
    // double [2,4], triple [3,6], square [1,4] → mean [2, 14/3]
    const data = numbers(reply.json, 'outputs');
    assert.equal(data.length, 2);
    assert.equal(data[0], 2);
    assert.ok(Math.abs((data[1] ?? 0) - 14 / 3) < 1e-9);
  });

  test('ensemble: a user combiner gets the labelled answers, and work continues after it', async () => {
    const reply = await post(url('combiner'), v2Request([5]));
    assert.equal(reply.status, 200, reply.text);
    // a: 10, b: 15 → sum 25 → negate → -25
    assert.deepEqual(reply.json, v2Answer('negate', [-25]));
    const seen = models.requests.filter((r) => r.path === '/v2/models/sum/infer').at(-1);
    assert.deepEqual(seen?.json, {
      responses: [
        { name: 'a', response: v2Answer('double', [10]) },
        { name: 'b', response: v2Answer('triple', [15]) },
      ],
    });
  });

  test('router: the endpoint picks a child; the choice is in the response metadata', async () => {
    const reply = await post(url('router'), v2Request([4]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, v2Answer('negate', [-4]));
    assert.equal(reply.headers['x-switchyard-routing'], 'r=b');
  });

  test('router: -1 calls every child, -2 answers with the request and goes on', async () => {
    const all = await post(url('router-all'), v2Request([4]));
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.json, { a: v2Answer('double', [8]), b: v2Answer('negate', [-4]) });
    const self = await post(url('router-self'), v2Request([4]));
    assert.equal(self.status, 200, self.text);
    assert.deepEqual(self.json, v2Answer('negate', [-4]));
  });

  test('router: an out-of-range answer is a 502 naming the router, not a crash', async () => {
    const reply = await post(url('router-bad'), v2Request([4]));
    assert.equal(reply.status, 502);
    const error = (reply.json as { error: Record<string, unknown> }).error;
    assert.equal(error.graph, 'default/router-bad');
    assert.equal(error.node, 'r');
    assert.equal(error.status, 502);
    assert.match(String(error.reason), /9/);
  });

  test('switch on the body: first matching case, then the default', async () => {
    assert.deepEqual(
      (await post(url('switch'), v2Request([200]))).json,
      v2Answer('negate', [-200]),
    );
    const gold = await post(url('switch'), { ...v2Request([1]), parameters: { tier: 'gold' } });
    assert.deepEqual(gold.json, v2Answer('triple', [3]));
    assert.deepEqual((await post(url('switch'), v2Request([1]))).json, v2Answer('double', [2]));
  });

  test('switch on the body: no match and no default is a 404 in the error shape', async () => {
    const reply = await post(url('switch-strict'), v2Request([1]));
    assert.equal(reply.status, 404);
    assert.deepEqual(reply.json, {
      error: {
        graph: 'default/switch-strict',
        node: 'sw',
        status: 404,
        reason: 'no case of switch "sw" matched the request, and it has no default',
      },
    });
  });

  test('nested graph: a node runs another graph on its own route', async () => {
    const reply = await post(url('nested'), v2Request([1]));
    assert.equal(reply.status, 200, reply.text);
    // plus-ten → (transform: plus-ten → double) = (1 + 10 + 10) * 2
    assert.deepEqual(reply.json, v2Answer('double', [42]));
  });

  test('mixed protocols: a V2 graph calls a V1 model through an explicit adapter', async () => {
    const reply = await post(url('mixed'), v2Request([1, 2]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(numbers(reply.json, 'outputs'), [22, 24]);
    const seen = models.requests.filter((r) => r.path === '/v1/models/v1-double:predict').at(-1);
    assert.deepEqual(seen?.json, { instances: [11, 12] });
  });

  test('soft dependency: its failure is recorded and the graph goes on; hard fails it', async () => {
    const soft = await post(url('soft'), v2Request([1]));
    assert.equal(soft.status, 200, soft.text);
    assert.deepEqual(soft.json, v2Answer('double', [2]));
    assert.match(String(soft.headers['x-switchyard-soft-failures']), /^flaky=502 /);
    const hard = await post(url('hard'), v2Request([1]));
    assert.equal(hard.status, 502);
    const error = (hard.json as { error: Record<string, unknown> }).error;
    assert.equal(error.node, 'flaky');
    assert.match(String(error.reason), /500: model exploded/);
  });

  test('a step answering non-JSON where JSON is needed is a 502 naming the step', async () => {
    const reply = await post(url('garbage'), v2Request([1]));
    assert.equal(reply.status, 502);
    assert.equal((reply.json as { error: { node: string } }).error.node, 'g');
  });

  test('the graph deadline is a 504 in the error shape', async () => {
    const started = Date.now();
    const reply = await post(url('deadline'), v2Request([1]));
    assert.equal(reply.status, 504, reply.text);
    assert.ok(Date.now() - started < 1_900, 'answered at the deadline, not after the model');
  });

  test('the last model’s answer streams to the client unbuffered', async () => {
    const started = Date.now();
    const response = await request(url('stream'), {
      method: 'POST',
      body: JSON.stringify(v2Request([1])),
      headers: { 'content-type': 'application/json' },
    });
    const arrivals: number[] = [];
    let text = '';
    for await (const chunk of response.body) {
      arrivals.push(Date.now() - started);
      text += (chunk as Buffer).toString('utf8');
    }
    assert.equal(text, 'data: one\n\ndata: two\n\ndata: three\n\n');
    assert.ok(arrivals.length >= 2, `chunks arrived together: ${JSON.stringify(arrivals)}`);
    assert.ok(
      (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0) >= 200,
      `chunks arrived together: ${JSON.stringify(arrivals)}`,
    );
  });

  test('a body over maxRequestBytes is refused with 413; declared headers and trace context reach every hop', async () => {
    const big = await post(url('limited'), v2Request(Array.from({ length: 500 }, (_, i) => i)));
    assert.equal(big.status, 413);
    assert.deepEqual(big.json, {
      error: {
        graph: 'default/limited',
        node: 'pre',
        status: 413,
        reason: "the request body is larger than the graph's maxRequestBytes of 1000",
      },
    });
    const ok = await post(url('limited'), v2Request([1]), {
      'x-tenant': 'acme',
      'x-other': 'private',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    assert.equal(ok.status, 200, ok.text);
    const hop = models.requests.filter((r) => r.path === '/v2/models/plus-ten/infer').at(-1);
    assert.ok(hop);
    assert.equal(hop.headers['x-tenant'], 'acme');
    assert.equal(hop.headers['x-other'], undefined);
    assert.equal(
      hop.headers.traceparent,
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
    const last = models.requests.filter((r) => r.path === '/v2/models/double/infer').at(-1);
    assert.equal(
      last?.headers.traceparent,
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
  });

  test('a graph the executor answers is routed to it: 413 over maxRequestBytes, no plan from clients', async () => {
    const big = await post(
      url('limited-answer'),
      v2Request(Array.from({ length: 500 }, (_, i) => i)),
    );
    assert.equal(big.status, 413, big.text);
    const error = (big.json as { error: Record<string, unknown> }).error;
    assert.equal(error.node, 'post');
    assert.match(String(error.reason), /larger than the graph's maxRequestBytes of 1000/);
    const forged = JSON.stringify({ version: 1, graph: 'forged', nodes: {} });
    const reply = await post(url('limited-answer'), v2Request([1]), {
      'x-switchyard-plan': forged,
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, { ...v2Answer('double', [2]), model_name: 'wrapped' });
    const hop = models.requests.filter((r) => r.path === '/v2/models/wrap/infer').at(-1);
    assert.equal(hop?.headers['x-switchyard-plan'], undefined);
  });

  test('a plan with a "%" in it reaches the executor as written', async () => {
    const matched = await post(url('percent'), {
      inputs: [{ name: 'x', shape: [1], datatype: '100%', data: [1] }],
    });
    assert.equal(matched.status, 200, matched.text);
    assert.equal((matched.json as { model_name: string }).model_name, 'wrapped');
    assert.equal((await post(url('percent'), v2Request([1]))).status, 404);
  });

  test('a node’s retries apply to the executor’s calls; step-level headers reach that step only', async () => {
    const reply = await post(url('retried'), v2Request([1]), { 'x-step': 'for-pre' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, { ...v2Answer('double', [2]), model_name: 'wrapped' });
    const calls = models.requests.filter((r) => r.path === '/v2/models/flaky-twice/infer');
    assert.equal(calls.length, 3, 'two failures retried by Envoy, then the answer');
    assert.equal(calls.at(-1)?.headers['x-step'], 'for-pre');
    const later = models.requests.filter((r) => r.path === '/v2/models/double/infer').at(-1);
    assert.equal(later?.headers['x-step'], undefined, 'declared on pre, so pre alone gets it');
  });

  test('a mirror above executor steps: the answer comes from the primary, the shadow gets a copy', async () => {
    const reply = await post(url('mirrored'), v2Request([1]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, v2Answer('double', [22]));
    await waitFor('the shadow to get its copy', () =>
      models.requests.some((r) => r.path === '/v2/models/shadow-model/infer'),
    );
  });

  test('status says which graphs the executor runs, from which node, and how Envoy reaches it', () => {
    const entries = (id: string) =>
      stack.controlPlane.status().graphs.find((g) => g.id === id)?.executors;
    // A switch on a list index of the body is the executor's, whole; its cases hand off.
    assert.deepEqual(entries('default/switch'), [{ entry: 'sw', transport: 'ext_proc' }]);
    assert.deepEqual(entries('default/output'), [{ entry: 'post', transport: 'upstream' }]);
    const text = renderStatus(stack.controlPlane.status());
    assert.match(text, /default\/switch .*executor from sw \(ext_proc\)/);
    assert.match(text, /default\/output .*executor from post \(upstream\)/);
  });

  test('a request that is not JSON where a step must read it is the client’s error: 400', async () => {
    const response = await request(url('switch'), {
      method: 'POST',
      body: '{"inputs": [',
      headers: { 'content-type': 'application/json' },
    });
    const body = (await response.body.json()) as { error: Record<string, unknown> };
    assert.equal(response.statusCode, 400);
    assert.equal(body.error.node, 'sw');
    assert.match(String(body.error.reason), /^the request cannot be read: the payload is not JSON/);
  });

  test('an ensemble’s children run in parallel: three 200 ms children answer well under 400 ms', async () => {
    await post(url('parallel'), v2Request([1]));
    const started = Date.now();
    const reply = await post(url('parallel'), v2Request([3]));
    const elapsed = Date.now() - started;
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(numbers(reply.json, 'outputs'), [3]);
    assert.ok(elapsed < 350, `took ${String(elapsed)} ms`);
  });

  test('a step’s own timeout: 504 naming the step, at its declared 300 ms', async () => {
    const started = Date.now();
    const reply = await post(url('step-timeout'), v2Request([1]));
    const elapsed = Date.now() - started;
    assert.equal(reply.status, 504, reply.text);
    assert.equal((reply.json as { error: { node: string } }).error.node, 's');
    assert.ok(elapsed >= 290 && elapsed < 1_500, `took ${String(elapsed)} ms`);
  });

  test('bad input is answered in the error shape and the executor keeps serving', async () => {
    const wrongShape = await post(url('v1-entry'), { instances: [[1, 2]] });
    assert.equal(wrongShape.status, 400, wrongShape.text);
    assert.match(
      (wrongShape.json as { error: { reason: string } }).error.reason,
      /a V2 request needs a non-empty "inputs" array/,
    );
    const unknown = await post(url('no-such-graph'), v2Request([1]));
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, {
      error: { status: 404, reason: 'no inference graph is served on this host and path' },
    });
    const fine = await post(url('v1-entry'), v2Request([1, 2]));
    assert.equal(fine.status, 200, fine.text);
    assert.deepEqual(numbers(fine.json, 'outputs'), [2, 4]);
  });

  test('a dead executor fails closed: 503 in the error shape; native graphs are unaffected', async () => {
    await stack.executor?.stop();
    stack.executor = undefined;
    try {
      // Over ext_proc (a transformer hands off to its model), and as an upstream.
      for (const name of ['transform', 'output']) {
        const reply = await post(url(name), v2Request([1]));
        assert.equal(reply.status, 503, `${name}: ${reply.text}`);
        const error = (reply.json as { error: Record<string, unknown> }).error;
        assert.equal(error.status, 503);
        assert.match(String(error.reason), /executor is unavailable/);
      }
    } finally {
      await stack.startExecutor();
    }
    await waitFor('the executor to answer again', async () => {
      return (await post(url('transform'), v2Request([1]))).status === 200;
    });
  });
});
