import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conditionHolds, type ConditionInput } from '../../src/extproc/conditions.ts';
import { parseJsonPath, valueAt } from '../../src/spec/json-path.ts';

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
