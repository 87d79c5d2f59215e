import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerRequest } from '../../src/executor/interpreter/graph-answer.ts';
import type { GraphResult } from '../../src/executor/interpreter/graph-run.ts';
import type { HopAnswer } from '../../src/executor/interpreter/hops.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { executionPlan } from '../../src/plan/execution-plan.ts';
import { headerText } from '../../src/protocols/header-text.ts';

/**
 * The rule for a node's 4xx, on the executor's side (Envoy's side, where a
 * tail model's answer is forwarded as it is, is end-to-end tested): a node
 * that refuses the client's own payload (400, 413, 415, 422) gives the
 * client its status; a node fed by another node's answer that refuses it,
 * or a node that fails otherwise, is the graph's failure, 502.
 */

const v2 = { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] };
const answer = { outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [2] }] };

type Script = Record<string, { status: number; body: unknown } | undefined>;

function graphOf(
  nodes: string,
  extra = '',
): ReturnType<typeof loadGraphDocuments>['graphs'][number] {
  const { graphs, diagnostics } = loadGraphDocuments(
    'g.yaml',
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: g }
spec:
  entry: top
  returnOutputs: [top]
${extra}  nodes:
${nodes}`,
  );
  assert.deepEqual(diagnostics, []);
  const [graph] = graphs;
  assert.ok(graph);
  return graph;
}

const model = (name: string) =>
  `    ${name}: { kind: model, endpoint: { addresses: ["127.0.0.1:9000"] } }\n`;

async function run(
  nodes: string,
  script: Script,
  body: Buffer | string = JSON.stringify(v2),
): Promise<GraphResult & { kind: 'answer' }> {
  const graph = graphOf(nodes);
  const result = await answerRequest(
    executionPlan(graph, 'top'),
    new Map([[':path', '/v2/models/g/infer']]),
    Buffer.from(body),
    {
      hops: {
        call: (path): Promise<HopAnswer> => {
          const node = path.split('/').at(-1) ?? '';
          const reply = script[node] ?? { status: 200, body: answer };
          return Promise.resolve({
            status: reply.status,
            headers: new Map([['content-type', 'application/json']]),
            body: Buffer.from(
              typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body),
            ),
          });
        },
      },
      random: () => 0,
      newId: () => 'id',
    },
    () => undefined,
  );
  assert.ok(result.kind === 'answer', 'the executor answers itself');
  return result;
}

function error(result: GraphResult & { kind: 'answer' }) {
  return (JSON.parse(result.body.toString()) as { error: { node: string; status: number } }).error;
}

const refuses = (status: number) => ({ status, body: { error: 'bad input' } });

test('a node sent the client’s own payload that refuses it gives the client its status', async () => {
  for (const status of [400, 413, 415, 422]) {
    const result = await run(
      `    top: { kind: ensemble, children: [a, b], combine: mean }
${model('a')}${model('b')}`,
      { a: refuses(status) },
    );
    assert.equal(result.status, status);
    assert.equal(error(result).node, 'a');
    assert.equal(error(result).status, status);
  }
});

test('other statuses of a node sent the client’s payload are the graph’s failure, 502', async () => {
  for (const status of [401, 403, 404, 409, 429, 500]) {
    const result = await run(
      `    top: { kind: ensemble, children: [a, b], combine: mean }
${model('a')}${model('b')}`,
      { a: refuses(status) },
    );
    assert.equal(result.status, 502, `a node answering ${String(status)}`);
  }
});

test('a body that is not JSON sent to an ensemble is the client’s error, as the models say', async () => {
  const result = await run(
    `    top: { kind: ensemble, children: [a, b], combine: mean }
${model('a')}${model('b')}`,
    { a: refuses(400), b: refuses(400) },
    'not json',
  );
  assert.equal(result.status, 400);
});

test('a node fed by another node’s answer that refuses it is the graph’s failure', async () => {
  const sequence = `    top: { kind: sequence, steps: [{ node: a }, { node: b }] }
${model('a')}${model('b')}`;
  assert.equal((await run(sequence, { b: refuses(400) })).status, 502);
  assert.equal(
    (await run(sequence, { a: refuses(400) })).status,
    400,
    'the first step got the request',
  );
  const fromRequest = `    top: { kind: sequence, steps: [{ node: a }, { node: b, input: request }] }
${model('a')}${model('b')}`;
  assert.equal((await run(fromRequest, { b: refuses(422) })).status, 422);
  const transformed = `    top: { kind: transformer, to: m, endpoint: { addresses: ["127.0.0.1:9000"] } }
${model('m')}`;
  assert.equal(
    (await run(transformed, { m: refuses(400), top: { status: 200, body: v2 } })).status,
    502,
  );
  const combined = `    top: { kind: ensemble, children: [a], combiner: c }
${model('a')}    c: { kind: combiner, endpoint: { addresses: ["127.0.0.1:9000"] } }\n`;
  assert.equal((await run(combined, { c: refuses(400) })).status, 502);
});

test('a router and a nested graph sent the client’s payload pass its refusal on', async () => {
  const routed = `    top: { kind: router, children: [a], endpoint: { addresses: ["127.0.0.1:9000"] } }
${model('a')}`;
  assert.equal((await run(routed, { top: refuses(422) })).status, 422);
  const nested = `    top: { kind: sequence, steps: [{ node: other }] }
    other: { kind: graph, graph: elsewhere }\n`;
  assert.equal((await run(nested, { other: refuses(400) })).status, 400);
});

test('soft children that refuse are recorded; with every child refusing, the client hears why', async () => {
  const soft = `    top: { kind: ensemble, children: [a, b], combine: mean }
${model('a')}    b: { kind: model, dependency: soft, endpoint: { addresses: ["127.0.0.1:9000"] } }\n`;
  const recorded = await run(soft, { b: refuses(400) });
  assert.equal(recorded.status, 200);
  const failures = recorded.headers.find(([name]) => name === 'x-switchyard-soft-failures');
  assert.match(decodeURIComponent(failures?.[1] ?? ''), /^b=400 the node answered 400/);

  const firstSuccess = `    top: { kind: ensemble, children: [a, b], combine: first-success }
${model('a')}${model('b')}`;
  const refused = await run(firstSuccess, { a: refuses(415), b: refuses(400) });
  assert.equal(refused.status, 415, 'the first child in declared order');
  assert.equal(error(refused).node, 'a');
  assert.equal((await run(firstSuccess, { a: refuses(400), b: refuses(500) })).status, 502);
  assert.equal((await run(firstSuccess, { a: refuses(400) })).status, 200);
});

test('header values the executor writes are visible ASCII, and decode to the text', async () => {
  const soft = `    top: { kind: ensemble, children: [a, b, c], combine: mean }
${model('a')}    b: { kind: model, dependency: soft, endpoint: { addresses: ["127.0.0.1:9000"] } }
    c: { kind: model, dependency: soft, endpoint: { addresses: ["127.0.0.1:9000"] } }\n`;
  const result = await run(soft, {
    b: { status: 500, body: 'Ошибка: модель недоступна' },
    c: { status: 503, body: '服务暂时不可用 100%' },
  });
  for (const [name, value] of result.headers) {
    assert.match(value, /^[\x20-\x7e]*$/, `${name} is visible ASCII`);
  }
  const failures = result.headers.find(([name]) => name === 'x-switchyard-soft-failures')?.[1];
  assert.equal(
    decodeURIComponent(failures ?? ''),
    'b=502 the node answered 500: Ошибка: модель недоступна; c=502 the node answered 503: 服务暂时不可用 100%',
  );
});

test('headerText encodes what is not visible ASCII, and % itself, as UTF-8 percent-escapes', () => {
  assert.equal(headerText('plain text, no change'), 'plain text, no change');
  assert.equal(headerText('100%'), '100%25');
  assert.equal(headerText('Привет'), '%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82');
  assert.equal(headerText('a\tb\r\nc'), 'a%09b%0D%0Ac');
  assert.equal(headerText('😀'), '%F0%9F%98%80');
  for (const text of ['κόσμε', '错误 %41', 'x\u0000y', 'e\u0301', '\u{10FFFF}']) {
    assert.equal(decodeURIComponent(headerText(text)), text);
  }
});
