import type { Protocol } from '../spec/schema.ts';
import { isObject, type Json } from './json.ts';
import type { Outcome } from './outcome.ts';
import { nest, tensorOfNested, tensorOfV2, v2TensorJson, type Tensor } from './tensor.ts';

/**
 * Payload adapters between protocols, one explicit rule per direction,
 * through neutral tensors (docs/protocols.md has the table):
 *
 * - KServe V1: request `{"instances": [...]}` (or `{"inputs": [...]}`),
 *   answer `{"predictions": [...]}`; the nested array is one tensor whose
 *   first dimension is the batch, read as "input-0" / "output-0": INT64 when
 *   every number is whole, else FP64.
 * - Open Inference Protocol V2: `inputs` / `outputs`, lists of
 *   `{name, shape, datatype, data}`, datatypes kept as they are.
 * - Seldon: `data.ndarray` (nested) or `data.tensor` (`shape`, flat
 *   `values`). Seldon's numbers are doubles (its protobuf's Value and
 *   Tensor.values), so they are FP64 in V2. `data.names` are column names:
 *   one name names the tensor; several, one per column of a 2-D array, make
 *   one tensor per column (shape [N, 1]), with the request or answer
 *   parameter `content_type: "pd"`, MLServer's convention for a table of
 *   named columns. `strData`, `jsonData` and `binData` have no tensor.
 * - Going to V1 or Seldon, one tensor is nested by its shape ([2,3] →
 *   [[a,b,c],[d,e,f]]), Seldon naming it in `names`; several tensors of one
 *   column each and the same rows are columns of one array, Seldon naming
 *   each; other sets of tensors have no faithful single array and are refused.
 *
 * Same protocol in and out returns the body itself, untouched.
 */

type Role = 'request' | 'response';

/** The tensors of a payload; `columns` when they are the named columns of one table. */
interface Tensors {
  readonly tensors: readonly Tensor[];
  readonly columns: boolean;
}

/** MLServer's content type of a request or answer whose tensors are a table's columns. */
const COLUMNS_CONTENT_TYPE = 'pd';

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function one(tensor: Outcome<Tensor>): Outcome<Tensors> {
  return tensor.ok ? { ok: true, value: { tensors: [tensor.value], columns: false } } : tensor;
}

function defaultName(role: Role): string {
  return role === 'request' ? 'input-0' : 'output-0';
}

function readV1(body: Json, role: Role): Outcome<Tensors> {
  if (!isObject(body)) return fail(`a V1 ${role} must be a JSON object`);
  const key =
    role === 'request' ? (body.instances !== undefined ? 'instances' : 'inputs') : 'predictions';
  const value = body[key];
  if (!Array.isArray(value)) return fail(`a V1 ${role} needs a "${key}" array`);
  return one(tensorOfNested(defaultName(role), value, `"${key}"`));
}

function readV2(body: Json, role: Role): Outcome<Tensors> {
  const key = role === 'request' ? 'inputs' : 'outputs';
  if (!isObject(body)) return fail(`a V2 ${role} must be a JSON object`);
  const list = body[key];
  if (!Array.isArray(list) || list.length === 0) {
    return fail(`a V2 ${role} needs a non-empty "${key}" array`);
  }
  const tensors: Tensor[] = [];
  for (const [index, value] of list.entries()) {
    const tensor = tensorOfV2(value, `${key}[${String(index)}]`);
    if (!tensor.ok) return tensor;
    tensors.push(tensor.value);
  }
  return { ok: true, value: { tensors, columns: false } };
}

/** Seldon's numbers are protobuf doubles, whatever their JSON text looks like. */
function seldonDatatype(data: readonly Json[]): string {
  if (data.length > 0 && data.every((v) => typeof v === 'boolean')) return 'BOOL';
  if (data.every((v) => typeof v === 'number')) return 'FP64';
  return 'BYTES';
}

/** One tensor per column of a 2-D tensor, each named by its column. */
function splitColumns(table: Tensor, names: readonly string[]): Outcome<Tensors> {
  const [rows, columns] = table.shape;
  if (table.shape.length !== 2 || rows === undefined || columns !== names.length) {
    return fail(
      `data.names has ${String(names.length)} column names but the data has shape [${table.shape.join(', ')}]: several names need a 2-D array with one column each`,
    );
  }
  const tensors = names.map((name, column) => ({
    name,
    shape: [rows, 1],
    datatype: table.datatype,
    data: Array.from({ length: rows }, (_, row) => table.data[row * columns + column] ?? null),
  }));
  return { ok: true, value: { tensors, columns: true } };
}

function readSeldon(body: Json, role: Role): Outcome<Tensors> {
  if (!isObject(body)) return fail('a SeldonMessage must be a JSON object');
  for (const field of ['strData', 'jsonData', 'binData']) {
    if (body[field] !== undefined) {
      return fail(`a SeldonMessage with "${field}" has no tensor to adapt to another protocol`);
    }
  }
  const data = body.data;
  if (!isObject(data)) return fail('a SeldonMessage needs "data" with "ndarray" or "tensor"');
  const names = Array.isArray(data.names)
    ? data.names.filter((n): n is string => typeof n === 'string')
    : [];
  const name = names.length === 1 && names[0] !== undefined ? names[0] : defaultName(role);
  let table: Outcome<Tensor>;
  if (data.ndarray !== undefined) {
    table = tensorOfNested(name, data.ndarray, '"data.ndarray"', seldonDatatype);
  } else if (isObject(data.tensor)) {
    const tensor = data.tensor;
    table = tensorOfV2(
      { name, shape: tensor.shape ?? null, data: tensor.values ?? null },
      '"data.tensor"',
      seldonDatatype,
    );
  } else {
    return fail('a SeldonMessage needs "data" with "ndarray" or "tensor"');
  }
  if (!table.ok) return table;
  return names.length > 1 ? splitColumns(table.value, names) : one(table);
}

function read(body: Json, protocol: Protocol, role: Role): Outcome<Tensors> {
  switch (protocol) {
    case 'v1':
      return readV1(body, role);
    case 'v2':
      return readV2(body, role);
    case 'seldon':
      return readSeldon(body, role);
  }
}

/** Rows of a one-column tensor: shape [N] or [N, 1]. */
function rowsOf(tensor: Tensor): number | undefined {
  const [rows, columns] = tensor.shape;
  if (tensor.shape.length === 1) return rows;
  return tensor.shape.length === 2 && columns === 1 ? rows : undefined;
}

/** The one array of V1 and Seldon: one tensor nested, or one-column tensors side by side. */
function table(
  tensors: readonly Tensor[],
  to: string,
): Outcome<{ names: string[]; array: Json[] }> {
  const [first] = tensors;
  if (first === undefined) return fail('there is no tensor');
  if (tensors.length === 1) {
    return { ok: true, value: { names: [first.name], array: nest(first.data, first.shape) } };
  }
  const rows = rowsOf(first);
  const odd = tensors.find((t) => rowsOf(t) === undefined || rowsOf(t) !== rows);
  if (rows === undefined || odd !== undefined) {
    const shapes = tensors.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ');
    return fail(
      `${to} carries one array: ${String(tensors.length)} tensors are its columns only when each has one column and all have the same rows, not ${shapes}`,
    );
  }
  const array = Array.from({ length: rows }, (_, row) => tensors.map((t) => t.data[row] ?? null));
  return { ok: true, value: { names: tensors.map((t) => t.name), array } };
}

function write(tensors: Tensors, protocol: Protocol, role: Role): Outcome<Json> {
  if (protocol === 'v2') {
    return {
      ok: true,
      value: {
        [role === 'request' ? 'inputs' : 'outputs']: tensors.tensors.map(v2TensorJson),
        ...(tensors.columns && { parameters: { content_type: COLUMNS_CONTENT_TYPE } }),
      },
    };
  }
  const one = table(tensors.tensors, protocol === 'v1' ? 'a V1 payload' : "a SeldonMessage's data");
  if (!one.ok) return one;
  if (protocol === 'v1') {
    return {
      ok: true,
      value: role === 'request' ? { instances: one.value.array } : { predictions: one.value.array },
    };
  }
  return { ok: true, value: { data: { names: one.value.names, ndarray: one.value.array } } };
}

function adapt(body: Json, from: Protocol, to: Protocol, role: Role): Outcome<Json> {
  if (from === to) return { ok: true, value: body };
  const tensors = read(body, from, role);
  if (!tensors.ok) return tensors;
  return write(tensors.value, to, role);
}

export function adaptRequest(body: Json, from: Protocol, to: Protocol): Outcome<Json> {
  return adapt(body, from, to, 'request');
}

export function adaptResponse(body: Json, from: Protocol, to: Protocol): Outcome<Json> {
  return adapt(body, from, to, 'response');
}
