import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  combine as combineWith,
  combinerInferenceRequest,
  combinerRequest,
  type ChildResult,
} from '../../src/executor/interpreter/combiners.ts';
import type { Json } from '../../src/protocols/json.ts';

const graph = { modelName: 'g', id: 'req-1' };

/** The built-in combiners as the graph "g" runs them for a request of id "req-1". */
function combine(
  ...args: [Parameters<typeof combineWith>[0], Parameters<typeof combineWith>[1], ChildResult[]]
) {
  return combineWith(...args, graph);
}

function v2(name: string, data: Json[], shape = [data.length], datatype = 'INT64'): Json {
  return { model_name: name, id: 'child-id', outputs: [{ name: 'y', shape, datatype, data }] };
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

test('mean: element-wise, per V2 output, the answer the graph’s with the request’s id', () => {
  assert.deepEqual(
    value(
      combine('mean', 'v2', [
        ok('a', v2('a', [1, 2, 3, 4], [2, 2])),
        ok('b', v2('b', [3, 4, 5, 6], [2, 2])),
      ]),
    ),
    {
      model_name: 'g',
      id: 'req-1',
      outputs: [{ name: 'y', shape: [2, 2], datatype: 'FP64', data: [2, 3, 4, 5] }],
    },
  );
  assert.deepEqual(
    value(
      combineWith('mean', 'v2', [ok('a', v2('a', [1])), ok('b', v2('b', [2]))], { modelName: 'g' }),
    ),
    { model_name: 'g', outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [1.5] }] },
    'no id when the request had none',
  );
});

test('mean keeps float datatypes, rounded as the datatype would; integers and BOOL give FP64', () => {
  const mean = (datatype: string, a: Json[], b: Json[]) =>
    (
      value(
        combine('mean', 'v2', [
          ok('a', v2('a', a, [a.length], datatype)),
          ok('b', v2('b', b, [b.length], datatype)),
        ]),
      ) as { outputs: { datatype: string; data: unknown[] }[] }
    ).outputs[0];
  assert.deepEqual(mean('FP32', [0.1, 1], [0.2, 2]), {
    name: 'y',
    shape: [2],
    datatype: 'FP32',
    data: [Math.fround(0.15000000000000002), 1.5],
  });
  assert.deepEqual(mean('FP16', [0.1], [0.2])?.datatype, 'FP16');
  assert.deepEqual(mean('FP16', [0.1], [0.2])?.data, [0.1500244140625]);
  assert.deepEqual(mean('FP64', [0.1], [0.2])?.data, [0.15000000000000002]);
  assert.deepEqual(mean('INT32', [1, 2], [2, 2])?.datatype, 'FP64');
  assert.deepEqual(mean('INT32', [1, 2], [2, 2])?.data, [1.5, 2]);
  assert.deepEqual(mean('UINT8', [1], [2])?.datatype, 'FP64');
  assert.deepEqual(mean('BOOL', [true, true], [false, true]), {
    name: 'y',
    shape: [2],
    datatype: 'FP64',
    data: [0.5, 1],
  });
  assert.match(
    reason(combine('mean', 'v2', [ok('a', v2('a', ['x'], [1], 'BYTES'))])),
    /mean of BYTES/,
  );
});

test('children of different datatypes meet in their common type', () => {
  const mixed = (op: 'mean' | 'vote', x: string, y: string) =>
    combine(op, 'v2', [ok('a', v2('a', [1], [1], x)), ok('b', v2('b', [1], [1], y))]);
  const datatype = (outcome: ReturnType<typeof mixed>) =>
    (value(outcome) as { outputs: { datatype: string }[] }).outputs[0]?.datatype;
  assert.equal(datatype(mixed('mean', 'FP16', 'FP32')), 'FP32');
  assert.equal(datatype(mixed('mean', 'INT32', 'FP32')), 'FP64');
  assert.equal(datatype(mixed('vote', 'INT8', 'INT32')), 'INT32');
  assert.equal(datatype(mixed('vote', 'UINT8', 'INT8')), 'FP64');
  assert.equal(datatype(mixed('vote', 'FP32', 'FP32')), 'FP32');
  assert.match(reason(mixed('vote', 'BOOL', 'INT8')), /no common type/);
  assert.match(reason(mixed('vote', 'NOPE', 'INT8')), /not a tensor datatype/);
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
    {
      model_name: 'g',
      id: 'req-1',
      outputs: [{ name: 'y', shape: [2], datatype: 'INT64', data: [1, 0] }],
    },
  );
});

test('concat: V2 outputs renamed per child, datatypes kept; V1 and Seldon joined along the first axis', () => {
  assert.deepEqual(
    value(
      combine('concat', 'v2', [
        ok('a', v2('a', [1], [1], 'FP32')),
        ok('b', v2('b', [2], [1], 'INT8')),
      ]),
    ),
    {
      model_name: 'g',
      id: 'req-1',
      outputs: [
        { name: 'a.y', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'b.y', shape: [1], datatype: 'INT8', data: [2] },
      ],
    },
  );
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
  const message = { data: { ndarray: [1] }, meta: { puid: 'p', tags: { a: 1 } } };
  assert.deepEqual(
    combinerRequest('seldon', [ok('a', message), ok('b', { data: { ndarray: [2] } })]),
    { seldonMessages: [message, { data: { ndarray: [2] } }] },
    'as Seldon sends them: in order, each message as its child answered it',
  );
});

test('a combiner in inference-request mode gets every child’s outputs as inputs "<child>.<output>"', () => {
  const built = combinerInferenceRequest(
    [
      { name: 'a', answer: v2('a', [1, 2], [2], 'FP32') },
      {
        name: 'b',
        answer: {
          outputs: [
            { name: 'p', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } },
            { name: 'q', shape: [1], datatype: 'BOOL', data: [true] },
          ],
        },
        tail: Buffer.from([7, 0, 0, 0]),
      },
    ],
    'req-1',
  );
  assert.deepEqual(value(built), {
    request: {
      id: 'req-1',
      inputs: [
        { name: 'a.y', shape: [2], datatype: 'FP32', data: [1, 2] },
        { name: 'b.p', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } },
        { name: 'b.q', shape: [1], datatype: 'BOOL', data: [true] },
      ],
    },
    tail: Buffer.from([7, 0, 0, 0]),
  });
  assert.match(
    reason(combinerInferenceRequest([{ name: 'a', answer: { predictions: [1] } }], undefined)),
    /child "a" has no V2 "outputs"/,
  );
});
