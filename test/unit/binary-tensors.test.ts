import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  binaryOutputsAsked,
  decodeBinaryTensors,
  encodeBinaryTensors,
  outputsEncodedAsAsked,
  readHeaderLength,
} from '../../src/protocols/binary-tensors.ts';
import { commonDatatype, meanDatatype } from '../../src/protocols/datatypes.ts';
import type { Json } from '../../src/protocols/json.ts';

function value<T>(outcome: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!outcome.ok) assert.fail(outcome.reason);
  return outcome.value;
}

function reason(outcome: { ok: true; value: unknown } | { ok: false; reason: string }): string {
  if (outcome.ok) assert.fail(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.reason;
}

/** The bytes of `values` as Triton's and KServe's clients write them: little-endian, row major. */
function bytesOf(datatype: string, values: readonly (number | bigint | boolean | string)[]) {
  switch (datatype) {
    case 'BOOL':
      return Buffer.from(values.map((v) => (v === true ? 1 : 0)));
    case 'INT8':
      return Buffer.from(new Int8Array(values as number[]).buffer);
    case 'UINT8':
      return Buffer.from(new Uint8Array(values as number[]).buffer);
    case 'INT16':
      return Buffer.from(new Int16Array(values as number[]).buffer);
    case 'UINT16':
      return Buffer.from(new Uint16Array(values as number[]).buffer);
    case 'INT32':
      return Buffer.from(new Int32Array(values as number[]).buffer);
    case 'UINT32':
      return Buffer.from(new Uint32Array(values as number[]).buffer);
    case 'INT64':
      return Buffer.from(new BigInt64Array(values as bigint[]).buffer);
    case 'UINT64':
      return Buffer.from(new BigUint64Array(values as bigint[]).buffer);
    case 'FP32':
      return Buffer.from(new Float32Array(values as number[]).buffer);
    case 'FP64':
      return Buffer.from(new Float64Array(values as number[]).buffer);
    case 'BYTES':
      return Buffer.concat(
        (values as string[]).flatMap((v) => {
          const text = Buffer.from(v);
          const length = Buffer.alloc(4);
          length.writeUInt32LE(text.length);
          return [length, text];
        }),
      );
    default:
      throw new Error(datatype);
  }
}

const cases: [string, (number | bigint | boolean | string)[], Json[]][] = [
  ['BOOL', [true, false, true], [true, false, true]],
  ['INT8', [-128, 5], [-128, 5]],
  ['UINT8', [0, 255], [0, 255]],
  ['INT16', [-32768, 7], [-32768, 7]],
  ['UINT16', [65535, 1], [65535, 1]],
  ['INT32', [-2147483648, 3], [-2147483648, 3]],
  ['UINT32', [4294967295, 2], [4294967295, 2]],
  ['INT64', [-9007199254740991n, 42n], [-9007199254740991, 42]],
  ['UINT64', [9007199254740991n, 1n], [9007199254740991, 1]],
  ['FP32', [1.5, -0.25], [1.5, -0.25]],
  ['FP64', [0.1, 1e300], [0.1, 1e300]],
  ['BYTES', ['cat', '', 'naïve'], ['cat', '', 'naïve']],
];

test('every datatype decodes from its little-endian bytes, and encodes back to the same bytes', () => {
  for (const [datatype, values, data] of cases) {
    const bytes = bytesOf(datatype, values);
    const header = {
      id: 'r',
      inputs: [
        {
          name: 'x',
          shape: [values.length],
          datatype,
          parameters: { binary_data_size: bytes.length },
        },
      ],
    };
    const decoded = value(decodeBinaryTensors(header, bytes));
    assert.deepEqual(
      decoded,
      { id: 'r', inputs: [{ name: 'x', shape: [values.length], datatype, data }] },
      datatype,
    );
    const encoded = value(encodeBinaryTensors(decoded, 'inputs', () => true));
    assert.deepEqual(encoded, { header, tail: bytes }, datatype);
  }
});

test('FP16 reads and writes half precision', () => {
  // 1.5 is 0x3e00, -2 is 0xc000, as half floats.
  const bytes = Buffer.from([0x00, 0x3e, 0x00, 0xc0]);
  const header = {
    outputs: [{ name: 'h', shape: [2], datatype: 'FP16', parameters: { binary_data_size: 4 } }],
  };
  const decoded = value(decodeBinaryTensors(header, bytes));
  assert.deepEqual(decoded, {
    outputs: [{ name: 'h', shape: [2], datatype: 'FP16', data: [1.5, -2] }],
  });
  assert.deepEqual(value(encodeBinaryTensors(decoded, 'outputs', () => true)).tail, bytes);
});

test('binary tensors are read in order, beside tensors sent as JSON, parameters kept', () => {
  const a = bytesOf('FP32', [1, 2]);
  const b = bytesOf('INT32', [7]);
  const header = {
    inputs: [
      {
        name: 'a',
        shape: [2],
        datatype: 'FP32',
        parameters: { binary_data_size: 8, content_type: 'np' },
      },
      { name: 'j', shape: [1], datatype: 'FP64', data: [0.5] },
      { name: 'b', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } },
    ],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  };
  assert.deepEqual(value(decodeBinaryTensors(header, Buffer.concat([a, b]))), {
    inputs: [
      { name: 'a', shape: [2], datatype: 'FP32', parameters: { content_type: 'np' }, data: [1, 2] },
      { name: 'j', shape: [1], datatype: 'FP64', data: [0.5] },
      { name: 'b', shape: [1], datatype: 'INT32', data: [7] },
    ],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  });
});

test('only the outputs asked for are written as binary; nested data is flattened', () => {
  const answer = {
    model_name: 'g',
    outputs: [
      {
        name: 'y',
        shape: [2, 2],
        datatype: 'FP32',
        data: [
          [1, 2],
          [3, 4],
        ],
      },
      { name: 'z', shape: [1], datatype: 'BYTES', data: ['ok'] },
    ],
  };
  const encoded = value(encodeBinaryTensors(answer, 'outputs', (name) => name === 'y'));
  assert.deepEqual(encoded.header, {
    model_name: 'g',
    outputs: [
      { name: 'y', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } },
      { name: 'z', shape: [1], datatype: 'BYTES', data: ['ok'] },
    ],
  });
  assert.deepEqual(encoded.tail, bytesOf('FP32', [1, 2, 3, 4]));
});

test('what cannot be read or written is refused, saying where', () => {
  const header = (size: number, datatype = 'FP32', shape = [2]) => ({
    inputs: [{ name: 'x', shape, datatype, parameters: { binary_data_size: size } }],
  });
  assert.match(
    reason(decodeBinaryTensors(header(8), Buffer.alloc(4))),
    /inputs\[0\]: binary_data_size 8 reaches past the 4 bytes after the JSON/,
  );
  assert.match(
    reason(decodeBinaryTensors(header(4), Buffer.alloc(4))),
    /binary_data_size is 4 but 2 FP32 elements take 8 bytes/,
  );
  assert.match(
    reason(decodeBinaryTensors(header(8), Buffer.alloc(12))),
    /12 bytes follow the JSON but its tensors' binary_data_size add up to 8/,
  );
  assert.match(
    reason(decodeBinaryTensors(header(8, 'FP8'), Buffer.alloc(8))),
    /"FP8" is not a tensor datatype/,
  );
  assert.match(
    reason(decodeBinaryTensors(header(5, 'BYTES', [1]), Buffer.from([1, 0, 0, 0, 0xff]))),
    /element 0 is not UTF-8 text/,
  );
  assert.match(
    reason(decodeBinaryTensors(header(6, 'BYTES', [1]), Buffer.from([9, 0, 0, 0, 1, 2]))),
    /its bytes end inside element 0/,
  );
  assert.match(reason(decodeBinaryTensors([1], Buffer.alloc(0))), /must be an object/);
  const json = (data: Json[], datatype: string) => ({
    outputs: [{ name: 'y', shape: [data.length], datatype, data }],
  });
  assert.match(
    reason(encodeBinaryTensors(json([1.5], 'INT32'), 'outputs', () => true)),
    /element 0 is 1.5, not an integer for INT32/,
  );
  assert.match(
    reason(encodeBinaryTensors(json(['x'], 'FP32'), 'outputs', () => true)),
    /element 0 is "x", not a number/,
  );
  assert.match(
    reason(encodeBinaryTensors(json([1], 'BOOL'), 'outputs', () => true)),
    /not a boolean/,
  );
  assert.match(reason(encodeBinaryTensors({}, 'outputs', () => true)), /has no "outputs"/);
});

test('inference-header-content-length: a length within the body, or none', () => {
  assert.deepEqual(readHeaderLength(undefined, 10), { ok: true, value: undefined });
  assert.deepEqual(readHeaderLength('10', 10), { ok: true, value: 10 });
  assert.deepEqual(readHeaderLength(' 3 ', 10), { ok: true, value: 3 });
  for (const bad of ['11', '-1', '1.5', 'x', '']) {
    assert.match(reason(readHeaderLength(bad, 10)), /inference-header-content-length is/);
  }
});

test('which outputs a client asked for as binary: binary_data_output, overridden per output', () => {
  assert.equal(binaryOutputsAsked({ inputs: [] }), undefined);
  assert.equal(binaryOutputsAsked({ parameters: { binary_data_output: false } }), undefined);
  const all = binaryOutputsAsked({ parameters: { binary_data_output: true } });
  assert.equal(all?.('y'), true);
  const some = binaryOutputsAsked({
    parameters: { binary_data_output: true },
    outputs: [{ name: 'json-please', parameters: { binary_data: false } }],
  });
  assert.ok(some);
  assert.equal(some('y'), true);
  assert.equal(some('json-please'), false);
  const one = binaryOutputsAsked({ outputs: [{ name: 'y', parameters: { binary_data: true } }] });
  assert.ok(one);
  assert.equal(one('y'), true);
  assert.equal(one('z'), false);

  const answer = {
    outputs: [
      { name: 'y', parameters: { binary_data_size: 4 } },
      { name: 'z', data: [1] },
    ],
  };
  assert.equal(outputsEncodedAsAsked(answer, one), true);
  assert.equal(outputsEncodedAsAsked(answer, all), false);
  assert.equal(outputsEncodedAsAsked(answer, undefined), false);
  assert.equal(outputsEncodedAsAsked({ outputs: [{ name: 'z', data: [1] }] }, undefined), true);
});

test('datatypes: a mean keeps floats and is FP64 otherwise; mixed datatypes meet as numpy’s do', () => {
  assert.equal(meanDatatype('FP32'), 'FP32');
  assert.equal(meanDatatype('FP16'), 'FP16');
  assert.equal(meanDatatype('INT32'), 'FP64');
  assert.equal(meanDatatype('UINT64'), 'FP64');
  assert.equal(meanDatatype('BOOL'), 'FP64');
  assert.deepEqual(commonDatatype(['FP32', 'FP32']), { ok: true, value: 'FP32' });
  assert.deepEqual(commonDatatype(['FP16', 'FP64']), { ok: true, value: 'FP64' });
  assert.deepEqual(commonDatatype(['INT8', 'INT64']), { ok: true, value: 'INT64' });
  assert.deepEqual(commonDatatype(['UINT8', 'UINT16']), { ok: true, value: 'UINT16' });
  assert.deepEqual(commonDatatype(['INT32', 'FP32']), { ok: true, value: 'FP64' });
  assert.match(reason(commonDatatype(['BYTES', 'FP32'])), /no common type/);
});
