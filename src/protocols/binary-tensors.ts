import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { elementSize, isDatatype, type Datatype } from './datatypes.ts';
import { isObject, type Json, type JsonObject } from './json.ts';
import type { Outcome } from './outcome.ts';
import { flatten } from './tensor.ts';

/**
 * The Open Inference Protocol's binary tensor data extension, as KServe and
 * Triton implement it: a body is a JSON inference request or answer followed
 * by the raw bytes of its binary tensors, in the order the tensors appear in
 * the JSON (`inputs`, then `outputs`). The `inference-header-content-length`
 * header gives the length of the JSON; a tensor sent as bytes has no `data`
 * and the parameter `binary_data_size`. Elements are little-endian, row
 * major; BOOL is one byte; a BYTES element is a 4-byte length and its bytes.
 *
 * A client asks for binary outputs with the request parameter
 * `binary_data_output` (every output), overridden per output by
 * `outputs[].parameters.binary_data`.
 */

export const HEADER_LENGTH_HEADER = 'inference-header-content-length';

/** The content type of a body with binary tensors (KServe refuses them as application/json). */
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

const TENSOR_KEYS = ['inputs', 'outputs'] as const;

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** The JSON length a body declares in inference-header-content-length; none when the header is absent. */
export function readHeaderLength(
  value: string | undefined,
  bodyLength: number,
): Outcome<number | undefined> {
  if (value === undefined) return { ok: true, value: undefined };
  const length = /^[0-9]+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(length) || length > bodyLength) {
    return fail(
      `${HEADER_LENGTH_HEADER} is ${JSON.stringify(value)}: expected the length of the JSON before the binary tensors, at most the body's ${String(bodyLength)} bytes`,
    );
  }
  return { ok: true, value: length };
}

function binarySize(tensor: JsonObject): number | undefined {
  const parameters = tensor.parameters;
  if (!isObject(parameters)) return undefined;
  const size = parameters.binary_data_size;
  return typeof size === 'number' ? size : undefined;
}

function withoutBinarySize(parameters: Json | undefined): JsonObject | undefined {
  if (!isObject(parameters)) return undefined;
  const { binary_data_size: _size, ...rest } = parameters;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

function count(shape: Json | undefined): number | undefined {
  if (!Array.isArray(shape)) return undefined;
  let product = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return undefined;
    product *= d;
  }
  return product;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readBytesElements(view: Buffer, elements: number, what: string): Outcome<Json[]> {
  const data: Json[] = [];
  let at = 0;
  for (let i = 0; i < elements; i++) {
    if (at + 4 > view.length) return fail(`${what}: its bytes end inside element ${String(i)}`);
    const length = view.readUInt32LE(at);
    at += 4;
    if (at + length > view.length)
      return fail(`${what}: its bytes end inside element ${String(i)}`);
    try {
      data.push(utf8.decode(view.subarray(at, at + length)));
    } catch {
      return fail(`${what}: element ${String(i)} is not UTF-8 text, which JSON cannot carry`);
    }
    at += length;
  }
  if (at !== view.length) {
    return fail(
      `${what}: ${String(view.length - at)} bytes are left after its ${String(elements)} elements`,
    );
  }
  return { ok: true, value: data };
}

function readElements(
  view: Buffer,
  datatype: Datatype,
  elements: number,
  what: string,
): Outcome<Json[]> {
  if (datatype === 'BYTES') return readBytesElements(view, elements, what);
  const size = elementSize(datatype);
  if (view.length !== elements * size) {
    return fail(
      `${what}: binary_data_size is ${String(view.length)} but ${String(elements)} ${datatype} elements take ${String(elements * size)} bytes`,
    );
  }
  const data = new Array<Json>(elements);
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0, at = 0; i < elements; i++, at += size) {
    switch (datatype) {
      case 'BOOL':
        data[i] = dv.getUint8(at) !== 0;
        break;
      case 'UINT8':
        data[i] = dv.getUint8(at);
        break;
      case 'UINT16':
        data[i] = dv.getUint16(at, true);
        break;
      case 'UINT32':
        data[i] = dv.getUint32(at, true);
        break;
      case 'UINT64':
        data[i] = Number(dv.getBigUint64(at, true));
        break;
      case 'INT8':
        data[i] = dv.getInt8(at);
        break;
      case 'INT16':
        data[i] = dv.getInt16(at, true);
        break;
      case 'INT32':
        data[i] = dv.getInt32(at, true);
        break;
      case 'INT64':
        data[i] = Number(dv.getBigInt64(at, true));
        break;
      case 'FP16':
        data[i] = getFloat16(dv, at, true);
        break;
      case 'FP32':
        data[i] = dv.getFloat32(at, true);
        break;
      case 'FP64':
        data[i] = dv.getFloat64(at, true);
        break;
    }
  }
  return { ok: true, value: data };
}

/**
 * `header` (the JSON part) with every binary tensor's bytes from `tail`
 * read into its `data`, and `binary_data_size` gone from its parameters.
 */
export function decodeBinaryTensors(header: Json, tail: Buffer): Outcome<Json> {
  if (!isObject(header)) return fail('the JSON before the binary tensors must be an object');
  let at = 0;
  const decoded: JsonObject = { ...header };
  for (const key of TENSOR_KEYS) {
    const tensors = header[key];
    if (!Array.isArray(tensors)) continue;
    const out: Json[] = [];
    for (const [index, tensor] of tensors.entries()) {
      const size = isObject(tensor) ? binarySize(tensor) : undefined;
      if (!isObject(tensor) || size === undefined) {
        out.push(tensor);
        continue;
      }
      const what = `${key}[${String(index)}]`;
      if (!Number.isSafeInteger(size) || size < 0) {
        return fail(`${what}: binary_data_size must be a non-negative integer`);
      }
      if (at + size > tail.length) {
        return fail(
          `${what}: binary_data_size ${String(size)} reaches past the ${String(tail.length)} bytes after the JSON`,
        );
      }
      const datatype = tensor.datatype;
      if (typeof datatype !== 'string' || !isDatatype(datatype)) {
        return fail(`${what}: ${JSON.stringify(datatype ?? null)} is not a tensor datatype`);
      }
      const elements = count(tensor.shape);
      if (elements === undefined)
        return fail(`${what}: shape must be a list of non-negative integers`);
      const data = readElements(tail.subarray(at, at + size), datatype, elements, what);
      if (!data.ok) return data;
      at += size;
      const { parameters, ...rest } = tensor;
      const kept = withoutBinarySize(parameters);
      out.push({ ...rest, ...(kept && { parameters: kept }), data: data.value });
    }
    decoded[key] = out;
  }
  if (at !== tail.length) {
    return fail(
      `${String(tail.length)} bytes follow the JSON but its tensors' binary_data_size add up to ${String(at)}`,
    );
  }
  return { ok: true, value: decoded };
}

function writeBytesElements(data: readonly Json[], what: string): Outcome<Buffer> {
  const parts: Buffer[] = [];
  for (const [i, value] of data.entries()) {
    if (typeof value !== 'string') {
      return fail(`${what}: element ${String(i)} is ${JSON.stringify(value)}, not text for BYTES`);
    }
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    parts.push(length, bytes);
  }
  return { ok: true, value: Buffer.concat(parts) };
}

function writeElements(data: readonly Json[], datatype: Datatype, what: string): Outcome<Buffer> {
  if (datatype === 'BYTES') return writeBytesElements(data, what);
  const size = elementSize(datatype);
  const bytes = Buffer.alloc(data.length * size);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [i, value] of data.entries()) {
    const at = i * size;
    if (datatype === 'BOOL') {
      if (typeof value !== 'boolean') {
        return fail(`${what}: element ${String(i)} is ${JSON.stringify(value)}, not a boolean`);
      }
      dv.setUint8(at, value ? 1 : 0);
      continue;
    }
    if (typeof value !== 'number') {
      return fail(`${what}: element ${String(i)} is ${JSON.stringify(value)}, not a number`);
    }
    const integer = datatype !== 'FP16' && datatype !== 'FP32' && datatype !== 'FP64';
    if (integer && !Number.isInteger(value)) {
      return fail(
        `${what}: element ${String(i)} is ${String(value)}, not an integer for ${datatype}`,
      );
    }
    switch (datatype) {
      case 'UINT8':
        dv.setUint8(at, value);
        break;
      case 'UINT16':
        dv.setUint16(at, value, true);
        break;
      case 'UINT32':
        dv.setUint32(at, value, true);
        break;
      case 'UINT64':
        dv.setBigUint64(at, BigInt(value), true);
        break;
      case 'INT8':
        dv.setInt8(at, value);
        break;
      case 'INT16':
        dv.setInt16(at, value, true);
        break;
      case 'INT32':
        dv.setInt32(at, value, true);
        break;
      case 'INT64':
        dv.setBigInt64(at, BigInt(value), true);
        break;
      case 'FP16':
        setFloat16(dv, at, value, true);
        break;
      case 'FP32':
        dv.setFloat32(at, value, true);
        break;
      case 'FP64':
        dv.setFloat64(at, value, true);
        break;
    }
  }
  return { ok: true, value: bytes };
}

/**
 * `body`'s tensors under `key` that `binary` picks, written as binary
 * tensors: the JSON part (their `data` gone, `binary_data_size` set) and the
 * bytes that follow it. Tensors already binary cannot be told apart from
 * their bytes here: `body` must have none (decode it first).
 */
export function encodeBinaryTensors(
  body: Json,
  key: 'inputs' | 'outputs',
  binary: (name: string) => boolean,
): Outcome<{ header: Json; tail: Buffer }> {
  if (!isObject(body) || !Array.isArray(body[key])) return fail(`the payload has no "${key}"`);
  const parts: Buffer[] = [];
  const tensors: Json[] = [];
  for (const [index, tensor] of body[key].entries()) {
    const name = isObject(tensor) && typeof tensor.name === 'string' ? tensor.name : '';
    if (!isObject(tensor) || !binary(name)) {
      tensors.push(tensor);
      continue;
    }
    const what = `${key}[${String(index)}] (${name})`;
    const { data, parameters, ...rest } = tensor;
    const datatype = tensor.datatype;
    if (typeof datatype !== 'string' || !isDatatype(datatype)) {
      return fail(`${what}: ${JSON.stringify(datatype ?? null)} is not a tensor datatype`);
    }
    if (data === undefined) return fail(`${what} has no "data" to write as binary`);
    const flat = Array.isArray(data)
      ? flatten(data, `${what}.data`)
      : { ok: true as const, value: { data: [data] } };
    if (!flat.ok) return flat;
    const bytes = writeElements(flat.value.data, datatype, what);
    if (!bytes.ok) return bytes;
    parts.push(bytes.value);
    tensors.push({
      ...rest,
      parameters: {
        ...(isObject(parameters) ? parameters : {}),
        binary_data_size: bytes.value.length,
      },
    });
  }
  return { ok: true, value: { header: { ...body, [key]: tensors }, tail: Buffer.concat(parts) } };
}

/**
 * Which outputs a client asked to get as binary tensors: `binary_data_output`
 * for all, `outputs[].parameters.binary_data` for one. None when it asked
 * for none.
 */
export function binaryOutputsAsked(request: Json): ((output: string) => boolean) | undefined {
  if (!isObject(request)) return undefined;
  const parameters = isObject(request.parameters) ? request.parameters : {};
  const all = parameters.binary_data_output === true;
  const each = new Map<string, boolean>();
  if (Array.isArray(request.outputs)) {
    for (const output of request.outputs) {
      if (!isObject(output) || typeof output.name !== 'string') continue;
      const own = isObject(output.parameters) ? output.parameters.binary_data : undefined;
      if (typeof own === 'boolean') each.set(output.name, own);
    }
  }
  if (!all && ![...each.values()].some(Boolean)) return undefined;
  return (name) => each.get(name) ?? all;
}

/** Whether each output of `answer` is binary exactly when `asked` says so. */
export function outputsEncodedAsAsked(
  answer: Json,
  asked: ((output: string) => boolean) | undefined,
): boolean {
  if (!isObject(answer) || !Array.isArray(answer.outputs)) return asked === undefined;
  return answer.outputs.every((output) => {
    if (!isObject(output)) return true;
    const name = typeof output.name === 'string' ? output.name : '';
    return (binarySize(output) !== undefined) === (asked?.(name) ?? false);
  });
}
