import { isObject, type Json } from './json.ts';
import type { Outcome } from './outcome.ts';

/** The protocol-neutral form adapters go through: a named, shaped, flat tensor. */
export interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: readonly Json[];
}

/** The shape of a nested array, read along its first elements. */
function shapeOf(value: Json): number[] {
  const shape: number[] = [];
  let current: Json | undefined = value;
  while (Array.isArray(current)) {
    shape.push(current.length);
    current = current[0];
  }
  return shape;
}

/** The leaves of a nested array whose every level has the shape's length. */
export function flatten(value: Json, what: string): Outcome<{ shape: number[]; data: Json[] }> {
  if (!Array.isArray(value)) return { ok: false, reason: `${what} must be an array` };
  const shape = shapeOf(value);
  let level: Json[] = [value];
  for (const [depth, size] of shape.entries()) {
    const next: Json[] = [];
    for (const item of level) {
      if (!Array.isArray(item) || item.length !== size) {
        return {
          ok: false,
          reason: `${what} is ragged: not every array at depth ${String(depth)} has ${String(size)} elements`,
        };
      }
      for (const element of item) next.push(element);
    }
    level = next;
  }
  if (level.some((leaf) => Array.isArray(leaf))) {
    return { ok: false, reason: `${what} is ragged: arrays and values mix at one depth` };
  }
  return { ok: true, value: { shape, data: level } };
}

/** Flat data as nested arrays of `shape`; data of one dimension or none stays flat. */
export function nest(data: readonly Json[], shape: readonly number[]): Json[] {
  let level: Json[] = [...data];
  for (let depth = shape.length - 1; depth >= 1; depth--) {
    const size = shape[depth] ?? 1;
    const grouped: Json[] = [];
    for (let start = 0; start < level.length; start += size) {
      grouped.push(level.slice(start, start + size));
    }
    level = grouped;
  }
  return level;
}

export function datatypeOf(data: readonly Json[]): string {
  if (data.length > 0 && data.every((v) => typeof v === 'boolean')) return 'BOOL';
  if (data.every((v) => typeof v === 'number' && Number.isInteger(v))) return 'INT64';
  if (data.every((v) => typeof v === 'number')) return 'FP64';
  return 'BYTES';
}

/**
 * A tensor from a nested array, e.g. V1 instances or a Seldon ndarray; its
 * datatype read from its values unless `datatypeOf` says otherwise.
 */
export function tensorOfNested(
  name: string,
  value: Json,
  what: string,
  datatypeOfData: (data: readonly Json[]) => string = datatypeOf,
): Outcome<Tensor> {
  const flat = flatten(value, what);
  if (!flat.ok) return flat;
  return {
    ok: true,
    value: {
      name,
      shape: flat.value.shape,
      datatype: datatypeOfData(flat.value.data),
      data: flat.value.data,
    },
  };
}

/** A V2 tensor object, checked: its data must hold exactly shape's product of values. */
export function tensorOfV2(
  value: Json,
  what: string,
  datatypeOfData: (data: readonly Json[]) => string = datatypeOf,
): Outcome<Tensor> {
  if (!isObject(value)) return { ok: false, reason: `${what} must be an object` };
  const { name, shape, datatype, data } = value;
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)
  ) {
    return { ok: false, reason: `${what}.shape must be a list of non-negative integers` };
  }
  if (data === undefined) return { ok: false, reason: `${what} has no "data"` };
  const flat = Array.isArray(data)
    ? flatten(data, `${what}.data`)
    : { ok: true as const, value: { shape: [1], data: [data] } };
  if (!flat.ok) return flat;
  const dimensions = shape as number[];
  const size = dimensions.reduce((product, d) => product * d, 1);
  if (flat.value.data.length !== size) {
    return {
      ok: false,
      reason: `${what} has ${String(flat.value.data.length)} values but its shape [${dimensions.join(', ')}] needs ${String(size)}`,
    };
  }
  return {
    ok: true,
    value: {
      name: typeof name === 'string' ? name : '',
      shape: shape as number[],
      datatype: typeof datatype === 'string' ? datatype : datatypeOfData(flat.value.data),
      data: flat.value.data,
    },
  };
}

export function v2TensorJson(tensor: Tensor): Json {
  return {
    name: tensor.name,
    shape: [...tensor.shape],
    datatype: tensor.datatype,
    data: [...tensor.data],
  };
}
