import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conditionHolds, type ConditionInput } from '../../src/executor/interpreter/conditions.ts';
import { runGraph } from '../../src/executor/interpreter/graph-run.ts';
import { StepError } from '../../src/executor/interpreter/step-error.ts';
import { executionPlan } from '../../src/plan/execution-plan.ts';
import { parseJsonPath, valueAt } from '../../src/spec/json-path.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';

function input(body: unknown, headers: Record<string, string> = {}, query = ''): ConditionInput {
  return {
    headers: new Map(Object.entries(headers)),
    query: new URLSearchParams(query),
    body: () => body,
  };
}

test('JSON paths: dotted names, quoted names and indexes; anything else is refused', () => {
  assert.deepEqual(parseJsonPath('$'), []);
  assert.deepEqual(parseJsonPath('$.inputs[0].data[2]'), ['inputs', 0, 'data', 2]);
  assert.deepEqual(parseJsonPath(`$['customer-tier']["a.b"]`), ['customer-tier', 'a.b']);
  for (const bad of ['inputs', '$.', '$[x]', '$.a[*]', '$..a', '$.a[-1]', "$['open"]) {
    assert.equal(parseJsonPath(bad), undefined, bad);
  }
});

test('JSON paths read values, and undefined where there is none', () => {
  const body = { inputs: [{ data: [1, 2, 3] }], meta: null };
  assert.equal(valueAt(body, ['inputs', 0, 'data', 2]), 3);
  assert.equal(valueAt(body, ['inputs', 1, 'data']), undefined);
  assert.equal(valueAt(body, ['meta', 'tags']), undefined);
  assert.equal(valueAt(body, ['inputs', 'length']), undefined);
  assert.equal(valueAt([1], ['constructor']), undefined);
});

test('body conditions compare JSON values: numbers, in, equals, prefix, regex, present', () => {
  const body = { score: 0.8, tier: 'gold', flag: true, name: 'fraud-v2' };
  const holds = (when: Parameters<typeof conditionHolds>[0]) => conditionHolds(when, input(body));
  assert.equal(holds({ body: '$.score', gt: 0.5 }), true);
  assert.equal(holds({ body: '$.score', gte: 0.8 }), true);
  assert.equal(holds({ body: '$.score', lt: 0.8 }), false);
  assert.equal(holds({ body: '$.score', lte: 0.8 }), true);
  assert.equal(holds({ body: '$.tier', gt: 1 }), false, 'a string is not greater than anything');
  assert.equal(holds({ body: '$.tier', in: ['gold', 'platinum'] }), true);
  assert.equal(holds({ body: '$.flag', equals: true }), true);
  assert.equal(holds({ body: '$.score', equals: '0.8' }), false, 'JSON types must agree');
  assert.equal(holds({ body: '$.name', prefix: 'fraud-' }), true);
  assert.equal(holds({ body: '$.name', regex: 'fraud-v[0-9]+' }), true);
  assert.equal(holds({ body: '$.name', regex: 'v2' }), false, 'a regex matches the whole value');
  assert.equal(holds({ body: '$.missing', present: false }), true);
  assert.equal(holds({ body: '$.tier', present: true }), true);
  assert.equal(holds({ body: '$.missing', equals: 'x' }), false);
});

test('a payload that is not JSON matches no body condition but present: false', () => {
  assert.equal(conditionHolds({ body: '$.a', equals: 1 }, input(undefined)), false);
  assert.equal(conditionHolds({ body: '$.a', present: false }, input(undefined)), true);
});

test('header and query conditions compare text', () => {
  const request = input({}, { 'x-tier': 'gold', 'x-n': '3' }, 'variant=fast');
  assert.equal(conditionHolds({ header: 'X-Tier', equals: 'gold' }, request), true);
  assert.equal(conditionHolds({ header: 'x-n', equals: 3 }, request), true);
  assert.equal(conditionHolds({ query: 'variant', in: ['fast', 'slow'] }, request), true);
  assert.equal(conditionHolds({ query: 'other', present: true }, request), false);
});

test('the executor refuses a body that is not JSON when a body case is reached, not before', async () => {
  const [graph] = loadGraphDocuments(
    'w.yaml',
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: w }
spec:
  entry: w
  nodes:
    w:
      kind: switch
      cases:
        - { when: { header: x-tier, equals: fast }, to: fast }
        - { when: { body: "$.inputs[0].data[0]", gt: 1 }, to: big }
      default: big
    fast: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }
    big: { kind: model, endpoint: { addresses: ["127.0.0.1:9002"] } }
`,
  ).graphs;
  assert.ok(graph);
  const run = (headers: Record<string, string>) =>
    runGraph(
      executionPlan(graph, 'w'),
      {
        headers: new Map(Object.entries(headers)),
        query: new URLSearchParams(),
        body: Buffer.from('not json'),
        contentType: 'application/json',
      },
      {
        hops: { call: () => Promise.reject(new Error('no hop expected')) },
        random: () => 0,
        newId: () => 'id',
      },
    );
  const taken = await run({ 'x-tier': 'fast' });
  assert.ok(taken.kind === 'handoff');
  assert.equal(taken.routing, 'w=fast');
  await assert.rejects(
    run({}),
    (error) =>
      error instanceof StepError &&
      error.status === 400 &&
      error.message.startsWith('the request cannot be read: the payload is not JSON'),
  );
});

test("RE2's (?P<name> groups and leading flags match in the executor as in Envoy", () => {
  const holds = (regex: string, value: string) =>
    conditionHolds({ header: 'x-tier', regex }, input({}, { 'x-tier': value }));
  assert.equal(holds('(?i)gold|silver', 'GOLD'), true);
  assert.equal(holds('(?i)gold|silver', 'bronze'), false);
  assert.equal(holds('(?P<tier>gold)-[0-9]+', 'gold-7'), true);
  assert.equal(holds('(?s)a.b', 'a\nb'), true);
  assert.equal(holds('a.b', 'a\nb'), false);
});
