import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  combine,
  combinerRequest,
  type ChildResult,
} from '../../src/executor/interpreter/combiners.ts';

function v2(name: string, data: unknown[], shape = [data.length]) {
  return { model_name: name, outputs: [{ name: 'y', shape, datatype: 'INT64', data }] };
}

function value(outcome: { ok: true; value: unknown } | { ok: false; reason: string }): unknown {
  if (!outcome.ok) assert.fail(outcome.reason);
  return outcome.value;
}

function reason(outcome: { ok: true; value: unknown } | { ok: false; reason: string }): string {
  if (outcome.ok) assert.fail(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.reason;
}

const ok = (name: string, body: unknown): ChildResult => ({ name, ok: true, body: body as never });
const failed = (name: string, error: string): ChildResult => ({ name, ok: false, error });

test('merge: answers by child name; failed children left out', () => {
  assert.deepEqual(
    value(combine('merge', 'v2', [ok('a', { x: 1 }), failed('b', 'down'), ok('c', [2])])),
    { a: { x: 1 }, c: [2] },
  );
});

test('first-success: the first child in declared order that answered', () => {
  assert.deepEqual(
    value(
      combine('first-success', 'v1', [
        failed('a', 'down'),
        ok('b', { predictions: [2] }),
        ok('c', {}),
      ]),
    ),
    { predictions: [2] },
  );
});

test('mean: element-wise, per V2 output, as FP64 of the same shape', () => {
  assert.deepEqual(
    value(
      combine('mean', 'v2', [
        ok('a', v2('a', [1, 2, 3, 4], [2, 2])),
        ok('b', v2('b', [3, 4, 5, 6], [2, 2])),
      ]),
    ),
    {
      model_name: 'a',
      outputs: [{ name: 'y', shape: [2, 2], datatype: 'FP64', data: [2, 3, 4, 5] }],
    },
  );
});

test('mean over V1 predictions and Seldon ndarrays, nested', () => {
  assert.deepEqual(
    value(
      combine('mean', 'v1', [
        ok('a', { predictions: [[1, 3]] }),
        ok('b', { predictions: [[3, 5]] }),
      ]),
    ),
    { predictions: [[2, 4]] },
  );
  assert.deepEqual(
    value(
      combine('mean', 'seldon', [
        ok('a', { data: { names: ['p'], ndarray: [[0.2]] }, meta: { tags: { a: true } } }),
        ok('b', { data: { names: ['p'], ndarray: [[0.4]] }, meta: { tags: { b: true } } }),
      ]),
    ),
    {
      data: { names: ['p'], ndarray: [[0.30000000000000004]] },
      meta: { puid: '', tags: { a: true, b: true }, routing: {}, requestPath: {}, metrics: [] },
    },
  );
});

test('mean refuses what it cannot average, naming the child', () => {
  assert.match(
    reason(
      combine('mean', 'v1', [ok('a', { predictions: [1, 2] }), ok('b', { predictions: [1] })]),
    ),
    /child "b" answers 1 values where "a" answers 2/,
  );
  assert.match(
    reason(combine('mean', 'v1', [ok('a', { predictions: ['x'] }), ok('b', { predictions: [1] })])),
    /child "a" has "x" where a number is needed/,
  );
  assert.match(
    reason(combine('mean', 'v2', [ok('a', v2('a', [1, 2])), ok('b', v2('b', [1, 2, 3]))])),
    /differ in name or shape/,
  );
  assert.match(
    reason(combine('mean', 'v1', [ok('a', { nope: 1 })])),
    /child "a" has no "predictions"/,
  );
});

test('vote: element-wise majority, a tie goes to the earliest child', () => {
  assert.deepEqual(
    value(
      combine('vote', 'v1', [
        ok('a', { predictions: ['cat', 'dog', 'cat'] }),
        ok('b', { predictions: ['dog', 'dog', 'bird'] }),
        ok('c', { predictions: ['dog', 'cat', 'fish'] }),
      ]),
    ),
    { predictions: ['dog', 'dog', 'cat'] },
  );
  assert.deepEqual(
    value(combine('vote', 'v2', [ok('a', v2('a', [1, 0])), ok('b', v2('b', [0, 0]))])),
    v2('a', [1, 0]),
  );
});

test('concat: V2 outputs renamed per child; V1 and Seldon joined along the first axis', () => {
  assert.deepEqual(value(combine('concat', 'v2', [ok('a', v2('a', [1])), ok('b', v2('b', [2]))])), {
    model_name: 'a',
    outputs: [
      { name: 'a.y', shape: [1], datatype: 'INT64', data: [1] },
      { name: 'b.y', shape: [1], datatype: 'INT64', data: [2] },
    ],
  });
  assert.deepEqual(
    value(
      combine('concat', 'v1', [ok('a', { predictions: [[1]] }), ok('b', { predictions: [[2]] })]),
    ),
    { predictions: [[1], [2]] },
  );
  assert.deepEqual(
    value(
      combine('concat', 'seldon', [
        ok('a', { data: { ndarray: [[1]] } }),
        ok('b', { data: { ndarray: [[2]] } }),
      ]),
    ),
    {
      data: { ndarray: [[1], [2]] },
      meta: { puid: '', tags: {}, routing: {}, requestPath: {}, metrics: [] },
    },
  );
});

test('no child answered: the combination fails, listing why each failed', () => {
  assert.equal(
    reason(combine('mean', 'v2', [failed('a', '502 down'), failed('b', '504 slow')])),
    'no child answered (a: 502 down; b: 504 slow)',
  );
});

test('a user combiner gets the answers in declared order, labelled with their child', () => {
  assert.deepEqual(
    combinerRequest('v2', [ok('a', { x: 1 }), failed('b', 'down'), ok('c', { x: 3 })]),
    {
      responses: [
        { name: 'a', response: { x: 1 } },
        { name: 'c', response: { x: 3 } },
      ],
    },
  );
  assert.deepEqual(combinerRequest('seldon', [ok('a', { data: { ndarray: [1] } })]), {
    seldonMessages: [
      {
        data: { ndarray: [1] },
        meta: { puid: '', tags: { child: 'a' }, routing: {}, requestPath: {}, metrics: [] },
      },
    ],
  });
});
