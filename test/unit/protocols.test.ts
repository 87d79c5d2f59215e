import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adaptRequest, adaptResponse } from '../../src/protocols/adapt.ts';
import { isRequestShaped, responseAsRequest } from '../../src/protocols/chain.ts';
import type { Json } from '../../src/protocols/json.ts';
import { parseRouterAnswer } from '../../src/protocols/router-answer.ts';
import {
  mergeMeta,
  readMeta,
  recordNode,
  recordRouting,
  withMeta,
} from '../../src/protocols/seldon-meta.ts';

const v2Request = {
  inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }],
};
const v2Response = {
  outputs: [{ name: 'y', shape: [2, 2], datatype: 'FP64', data: [0.5, 1.5, 2.5, 3.5] }],
};

function value<T>(outcome: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!outcome.ok) assert.fail(outcome.reason);
  return outcome.value;
}

function reason(outcome: { ok: true; value: unknown } | { ok: false; reason: string }): string {
  if (outcome.ok) assert.fail(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.reason;
}

test('the same protocol in and out is the identity, the very object', () => {
  assert.equal(value(adaptRequest(v2Request, 'v2', 'v2')), v2Request);
  const seldon = { strData: 'anything', meta: { puid: 'p' } };
  assert.equal(value(adaptResponse(seldon, 'seldon', 'seldon')), seldon);
});

test('V2 ↔ V1, requests and answers: the shape nests the data, the batch is the first axis', () => {
  assert.deepEqual(value(adaptRequest(v2Request, 'v2', 'v1')), {
    instances: [
      [1, 2],
      [3, 4],
    ],
  });
  assert.deepEqual(value(adaptResponse(v2Response, 'v2', 'v1')), {
    predictions: [
      [0.5, 1.5],
      [2.5, 3.5],
    ],
  });
  assert.deepEqual(value(adaptRequest({ instances: [[1, 2]] }, 'v1', 'v2')), {
    inputs: [{ name: 'input-0', shape: [1, 2], datatype: 'INT64', data: [1, 2] }],
  });
  assert.deepEqual(value(adaptResponse({ predictions: [0.1, 0.9] }, 'v1', 'v2')), {
    outputs: [{ name: 'output-0', shape: [2], datatype: 'FP64', data: [0.1, 0.9] }],
  });
  assert.deepEqual(value(adaptRequest({ inputs: [['a', 'b']] }, 'v1', 'v2')), {
    inputs: [{ name: 'input-0', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] }],
  });
});

test('V2 ↔ Seldon and V1 ↔ Seldon, both ways', () => {
  assert.deepEqual(value(adaptRequest(v2Request, 'v2', 'seldon')), {
    data: {
      names: ['x'],
      ndarray: [
        [1, 2],
        [3, 4],
      ],
    },
  });
  assert.deepEqual(
    value(adaptResponse({ data: { names: ['p'], ndarray: [[true, false]] } }, 'seldon', 'v2')),
    { outputs: [{ name: 'p', shape: [1, 2], datatype: 'BOOL', data: [true, false] }] },
  );
  assert.deepEqual(
    value(adaptRequest({ data: { tensor: { shape: [2], values: [7, 8] } } }, 'seldon', 'v1')),
    { instances: [7, 8] },
  );
  assert.deepEqual(value(adaptResponse({ predictions: [[1], [2]] }, 'v1', 'seldon')), {
    data: { names: ['output-0'], ndarray: [[1], [2]] },
  });
});

test('adapters refuse what they cannot map, saying what and where', () => {
  assert.match(reason(adaptRequest({ strData: 'hi' }, 'seldon', 'v2')), /"strData" has no tensor/);
  assert.match(reason(adaptRequest({ instances: 3 }, 'v1', 'v2')), /"instances" array/);
  assert.match(reason(adaptRequest({ instances: [[1, 2], [3]] }, 'v1', 'v2')), /ragged/);
  assert.match(reason(adaptResponse({ outputs: [] }, 'v2', 'v1')), /non-empty "outputs"/);
  assert.match(
    reason(adaptResponse({ outputs: [{ name: 'y', shape: [3], data: [1, 2] }] }, 'v2', 'v1')),
    /2 values but its shape \[3\] needs 3/,
  );
  assert.match(reason(adaptRequest(null, 'v2', 'v1')), /must be a JSON object/);
  assert.match(reason(adaptRequest([1, 2], 'v1', 'seldon')), /must be a JSON object/);
});

test('adapters take large payloads in stride', () => {
  const data = Array.from({ length: 1_000_000 }, (_, i) => i % 7);
  const adapted = value(
    adaptRequest({ inputs: [{ name: 'x', shape: [1000, 1000], data }] }, 'v2', 'v1'),
  ) as { instances: number[][] };
  assert.equal(adapted.instances.length, 1000);
  assert.equal(adapted.instances[999]?.length, 1000);
});

test('chaining makes an answer the next request within a protocol', () => {
  assert.deepEqual(value(responseAsRequest({ id: '1', ...v2Response }, 'v2')), {
    id: '1',
    inputs: v2Response.outputs,
  });
  assert.deepEqual(value(responseAsRequest({ predictions: [1] }, 'v1')), { instances: [1] });
  const seldon = { data: { ndarray: [1] } };
  assert.equal(value(responseAsRequest(seldon, 'seldon')), seldon);
  assert.match(reason(responseAsRequest({ outputs: 1 }, 'v2')), /"outputs" array/);
});

test('router answers: n, [n], [[n]] in each protocol; -1 all; -2 self; anything else explained', () => {
  assert.deepEqual(value(parseRouterAnswer({ data: { ndarray: [[1]] } }, 'seldon', 2)), {
    kind: 'child',
    index: 1,
  });
  assert.deepEqual(value(parseRouterAnswer({ data: { tensor: { values: [0] } } }, 'seldon', 2)), {
    kind: 'child',
    index: 0,
  });
  assert.deepEqual(value(parseRouterAnswer({ predictions: [-1] }, 'v1', 2)), { kind: 'all' });
  assert.deepEqual(value(parseRouterAnswer({ outputs: [{ data: [[-2]] }] }, 'v2', 2)), {
    kind: 'self',
  });
  assert.deepEqual(value(parseRouterAnswer(1, 'v2', 2)), { kind: 'child', index: 1 });
  assert.deepEqual(value(parseRouterAnswer([[0]], 'v1', 2)), { kind: 'child', index: 0 });
  for (const bad of [[2], [-3], [1.5], ['x'], []] as Json[]) {
    assert.match(
      reason(parseRouterAnswer(bad, 'v1', 2)),
      /expected 0\.\.1, -1|expected a child index/,
    );
  }
  assert.match(
    reason(parseRouterAnswer({ data: { ndarray: [[2]] } }, 'seldon', 2)),
    /child index 2 is out of range: expected 0\.\.1, -1 for every child or -2 for the request itself/,
  );
});

test('Seldon meta: read with defaults, merged along the path, written back', () => {
  assert.deepEqual(readMeta({ data: {} }), {
    puid: '',
    tags: {},
    routing: {},
    requestPath: {},
    metrics: [],
  });
  const first = readMeta({ meta: { puid: 'p1', tags: { a: 1, shared: 'first' } } });
  const second = readMeta({
    meta: { puid: 'other', tags: { b: 2, shared: 'second' }, metrics: [{ key: 'm' }] },
  });
  let meta = mergeMeta(first, second);
  meta = recordRouting(recordNode(meta, 'router', '/default/g/router'), 'router', 1);
  assert.deepEqual(withMeta({ data: { ndarray: [1] } }, meta), {
    data: { ndarray: [1] },
    meta: {
      puid: 'p1',
      tags: { a: 1, shared: 'second', b: 2 },
      routing: { router: 1 },
      requestPath: { router: '/default/g/router' },
      metrics: [{ key: 'm' }],
    },
  });
  assert.equal(withMeta('not an object', meta), 'not an object');
  assert.equal(mergeMeta(readMeta(null), second).puid, 'other');
});

test('Seldon → V2: Seldon numbers are doubles, so FP64 however they are written', () => {
  assert.deepEqual(value(adaptRequest({ data: { ndarray: [[1.0, 2.0]] } }, 'seldon', 'v2')), {
    inputs: [{ name: 'input-0', shape: [1, 2], datatype: 'FP64', data: [1, 2] }],
  });
  assert.deepEqual(
    value(adaptResponse({ data: { tensor: { shape: [2], values: [3, 4] } } }, 'seldon', 'v2')),
    { outputs: [{ name: 'output-0', shape: [2], datatype: 'FP64', data: [3, 4] }] },
  );
  assert.deepEqual(
    value(adaptResponse({ data: { names: ['label'], ndarray: ['cat', 'dog'] } }, 'seldon', 'v2')),
    { outputs: [{ name: 'label', shape: [2], datatype: 'BYTES', data: ['cat', 'dog'] }] },
  );
});

test('Seldon names ↔ V2 tensors: one name names the tensor, several are named columns', () => {
  const table = {
    data: {
      names: ['a', 'b'],
      ndarray: [
        [1, 2],
        [3, 4],
      ],
    },
  };
  const columns = {
    inputs: [
      { name: 'a', shape: [2, 1], datatype: 'FP64', data: [1, 3] },
      { name: 'b', shape: [2, 1], datatype: 'FP64', data: [2, 4] },
    ],
    parameters: { content_type: 'pd' },
  };
  assert.deepEqual(value(adaptRequest(table, 'seldon', 'v2')), columns);
  assert.deepEqual(value(adaptRequest(columns, 'v2', 'seldon')), table, 'and back, faithfully');
  assert.deepEqual(
    value(
      adaptRequest(
        {
          data: {
            names: ['a', 'b'],
            tensor: { shape: [1, 2], values: [5, 6] },
          },
        },
        'seldon',
        'v2',
      ),
    ),
    {
      inputs: [
        { name: 'a', shape: [1, 1], datatype: 'FP64', data: [5] },
        { name: 'b', shape: [1, 1], datatype: 'FP64', data: [6] },
      ],
      parameters: { content_type: 'pd' },
    },
  );
  assert.match(
    reason(adaptRequest({ data: { names: ['a', 'b', 'c'], ndarray: [[1, 2]] } }, 'seldon', 'v2')),
    /data.names has 3 column names but the data has shape \[1, 2\]/,
  );
  const one = {
    outputs: [{ name: 'proba', shape: [1, 3], datatype: 'FP32', data: [0.1, 0.2, 0.7] }],
  };
  assert.deepEqual(value(adaptResponse(one, 'v2', 'seldon')), {
    data: { names: ['proba'], ndarray: [[0.1, 0.2, 0.7]] },
  });
  assert.deepEqual(
    value(adaptResponse(value(adaptResponse(one, 'v2', 'seldon')), 'seldon', 'v2')),
    { outputs: [{ name: 'proba', shape: [1, 3], datatype: 'FP64', data: [0.1, 0.2, 0.7] }] },
    'one tensor keeps its name both ways',
  );
});

test('several V2 tensors become one V1 or Seldon array only as columns of the same rows', () => {
  const twoColumns = {
    outputs: [
      { name: 'label', shape: [2], datatype: 'INT64', data: [1, 0] },
      { name: 'score', shape: [2, 1], datatype: 'FP32', data: [0.9, 0.2] },
    ],
  };
  assert.deepEqual(value(adaptResponse(twoColumns, 'v2', 'v1')), {
    predictions: [
      [1, 0.9],
      [0, 0.2],
    ],
  });
  assert.deepEqual(value(adaptResponse(twoColumns, 'v2', 'seldon')), {
    data: {
      names: ['label', 'score'],
      ndarray: [
        [1, 0.9],
        [0, 0.2],
      ],
    },
  });
  const mixed = {
    outputs: [
      { name: 'label', shape: [2], datatype: 'INT64', data: [1, 0] },
      { name: 'proba', shape: [2, 2], datatype: 'FP32', data: [0.1, 0.9, 0.8, 0.2] },
    ],
  };
  assert.match(
    reason(adaptResponse(mixed, 'v2', 'seldon')),
    /one array: 2 tensors are its columns only when each has one column .*proba \[2, 2\]/,
  );
  assert.match(reason(adaptResponse(mixed, 'v2', 'v1')), /a V1 payload carries one array/);
});

test('a transformer’s answer: a request already, or an answer to chain', () => {
  assert.equal(isRequestShaped({ inputs: [], outputs: [{ name: 'y' }] }, 'v2'), true);
  assert.equal(isRequestShaped({ outputs: [] }, 'v2'), false);
  assert.equal(isRequestShaped({ instances: [1] }, 'v1'), true);
  assert.equal(isRequestShaped({ inputs: [1] }, 'v1'), true);
  assert.equal(isRequestShaped({ predictions: [1] }, 'v1'), false);
  assert.equal(isRequestShaped({ data: { ndarray: [1] } }, 'seldon'), true);
});
