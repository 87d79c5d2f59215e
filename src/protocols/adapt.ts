import type { Protocol } from '../spec/schema.ts';
import { isObject, type Json } from './json.ts';
import type { Outcome } from './outcome.ts';
import { nest, tensorOfNested, tensorOfV2, v2TensorJson, type Tensor } from './tensor.ts';

/**
 * Payload adapters between protocols, one explicit rule per direction,
 * through a neutral tensor:
 *
 * - KServe V1: request `{"instances": [...]}` (or `{"inputs": [...]}`),
 *   answer `{"predictions": [...]}`; the nested array is one tensor whose
 *   first dimension is the batch. Read as tensor "input-0" / "output-0".
 * - Open Inference Protocol V2: `inputs` / `outputs`, lists of
 *   `{name, shape, datatype, data}`. Going to V1 or Seldon, the first tensor
 *   is taken and its flat data nested by its shape ([2,3] → [[a,b,c],[d,e,f]]).
 * - Seldon: `data.ndarray` (nested) or `data.tensor` (`shape`, flat `values`),
 *   with `data.names` naming the tensor. `strData`, `jsonData` and `binData`
 *   have no tensor and cannot be adapted. Going to Seldon gives
 *   `data.ndarray` and `data.names` [tensor name].
 *
 * Same protocol in and out returns the body itself, untouched.
 */

type Role = 'request' | 'response';

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function readV1(body: Json, role: Role): Outcome<Tensor> {
  if (!isObject(body)) return fail(`a V1 ${role} must be a JSON object`);
  const key =
    role === 'request' ? (body.instances !== undefined ? 'instances' : 'inputs') : 'predictions';
  const value = body[key];
  if (!Array.isArray(value)) return fail(`a V1 ${role} needs a "${key}" array`);
  return tensorOfNested(role === 'request' ? 'input-0' : 'output-0', value, `"${key}"`);
}

function readV2(body: Json, role: Role): Outcome<Tensor> {
  const key = role === 'request' ? 'inputs' : 'outputs';
  if (!isObject(body)) return fail(`a V2 ${role} must be a JSON object`);
  const tensors = body[key];
  if (!Array.isArray(tensors) || tensors.length === 0) {
    return fail(`a V2 ${role} needs a non-empty "${key}" array`);
  }
  return tensorOfV2(tensors[0] ?? null, `${key}[0]`);
}

function readSeldon(body: Json): Outcome<Tensor> {
  if (!isObject(body)) return fail('a SeldonMessage must be a JSON object');
  for (const field of ['strData', 'jsonData', 'binData']) {
    if (body[field] !== undefined) {
      return fail(`a SeldonMessage with "${field}" has no tensor to adapt to another protocol`);
    }
  }
  const data = body.data;
  if (!isObject(data)) return fail('a SeldonMessage needs "data" with "ndarray" or "tensor"');
  const names = data.names;
  const name = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : 'data';
  if (data.ndarray !== undefined) return tensorOfNested(name, data.ndarray, '"data.ndarray"');
  const tensor = data.tensor;
  if (isObject(tensor)) {
    return tensorOfV2(
      { name, shape: tensor.shape ?? null, data: tensor.values ?? null },
      '"data.tensor"',
    );
  }
  return fail('a SeldonMessage needs "data" with "ndarray" or "tensor"');
}

function read(body: Json, protocol: Protocol, role: Role): Outcome<Tensor> {
  switch (protocol) {
    case 'v1':
      return readV1(body, role);
    case 'v2':
      return readV2(body, role);
    case 'seldon':
      return readSeldon(body);
  }
}

function write(tensor: Tensor, protocol: Protocol, role: Role): Json {
  const nested = nest(tensor.data, tensor.shape);
  switch (protocol) {
    case 'v1':
      return role === 'request' ? { instances: nested } : { predictions: nested };
    case 'v2':
      return { [role === 'request' ? 'inputs' : 'outputs']: [v2TensorJson(tensor)] };
    case 'seldon':
      return { data: { names: [tensor.name], ndarray: nested } };
  }
}

function adapt(body: Json, from: Protocol, to: Protocol, role: Role): Outcome<Json> {
  if (from === to) return { ok: true, value: body };
  const tensor = read(body, from, role);
  if (!tensor.ok) return tensor;
  return { ok: true, value: write(tensor.value, to, role) };
}

export function adaptRequest(body: Json, from: Protocol, to: Protocol): Outcome<Json> {
  return adapt(body, from, to, 'request');
}

export function adaptResponse(body: Json, from: Protocol, to: Protocol): Outcome<Json> {
  return adapt(body, from, to, 'response');
}
