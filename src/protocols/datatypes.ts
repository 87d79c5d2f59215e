import { f16round } from '@petamoriken/float16';

/**
 * The Open Inference Protocol's tensor datatypes, and the rules that keep
 * them when the executor computes new values (a mean, a vote). The rules are
 * numpy's, which KServe's and Triton's Python models compute with: a mean of
 * floats keeps their precision, a mean of integers or booleans is FP64, and
 * tensors of different datatypes meet in the smallest type that holds both.
 */

export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

type Family = 'bool' | 'uint' | 'int' | 'float' | 'bytes';

interface Facts {
  readonly family: Family;
  /** Bytes per element in the binary tensor extension; BYTES elements have their own lengths. */
  readonly size: number;
}

const facts: Readonly<Record<Datatype, Facts>> = {
  BOOL: { family: 'bool', size: 1 },
  UINT8: { family: 'uint', size: 1 },
  UINT16: { family: 'uint', size: 2 },
  UINT32: { family: 'uint', size: 4 },
  UINT64: { family: 'uint', size: 8 },
  INT8: { family: 'int', size: 1 },
  INT16: { family: 'int', size: 2 },
  INT32: { family: 'int', size: 4 },
  INT64: { family: 'int', size: 8 },
  FP16: { family: 'float', size: 2 },
  FP32: { family: 'float', size: 4 },
  FP64: { family: 'float', size: 8 },
  BYTES: { family: 'bytes', size: 0 },
};

export function isDatatype(name: string): name is Datatype {
  return Object.hasOwn(facts, name);
}

/** Bytes per element; 0 for BYTES, whose elements carry their own lengths. */
export function elementSize(datatype: Datatype): number {
  return facts[datatype].size;
}

export function isFloat(datatype: Datatype): boolean {
  return facts[datatype].family === 'float';
}

/** The value a float of `datatype` holds for `value`: FP32 and FP16 round, as the model's would. */
export function roundTo(datatype: Datatype, value: number): number {
  switch (datatype) {
    case 'FP32':
      return Math.fround(value);
    case 'FP16':
      return f16round(value);
    default:
      return value;
  }
}

/** The datatype of a mean of tensors of `datatype`: floats keep theirs, everything else is FP64. */
export function meanDatatype(datatype: Datatype): Datatype {
  return isFloat(datatype) ? datatype : 'FP64';
}

const floatsBySize: readonly Datatype[] = ['FP16', 'FP32', 'FP64'];
const intsBySize: readonly Datatype[] = ['INT8', 'INT16', 'INT32', 'INT64'];
const uintsBySize: readonly Datatype[] = ['UINT8', 'UINT16', 'UINT32', 'UINT64'];

function widest(of: readonly Datatype[], order: readonly Datatype[]): Datatype {
  return order[Math.max(...of.map((d) => order.indexOf(d)))] ?? 'FP64';
}

/**
 * Where tensors of several datatypes meet (numpy's result_type, in short):
 * one datatype stays; floats take the widest; integers of one signedness the
 * widest; anything else numeric FP64. BOOL and BYTES meet only themselves.
 */
export function commonDatatype(
  datatypes: readonly Datatype[],
): { ok: true; value: Datatype } | { ok: false; reason: string } {
  const [first] = datatypes;
  if (first !== undefined && datatypes.every((d) => d === first)) return { ok: true, value: first };
  const distinct = [...new Set(datatypes)];
  const families = new Set(distinct.map((d) => facts[d].family));
  if (families.has('bool') || families.has('bytes')) {
    return { ok: false, reason: `the datatypes ${distinct.join(', ')} have no common type` };
  }
  if (families.size === 1 && families.has('float')) {
    return { ok: true, value: widest(distinct, floatsBySize) };
  }
  if (families.size === 1 && families.has('int')) {
    return { ok: true, value: widest(distinct, intsBySize) };
  }
  if (families.size === 1 && families.has('uint')) {
    return { ok: true, value: widest(distinct, uintsBySize) };
  }
  return { ok: true, value: 'FP64' };
}
