import {
  commonDatatype,
  isDatatype,
  meanDatatype,
  roundTo,
  type Datatype,
} from '../../protocols/datatypes.ts';
import { isObject, type Json, type JsonObject } from '../../protocols/json.ts';
import type { Outcome } from '../../protocols/outcome.ts';
import { mergeMeta, readMeta, withMeta } from '../../protocols/seldon-meta.ts';
import { tensorOfV2, type Tensor } from '../../protocols/tensor.ts';
import type { BuiltinCombiner, Protocol } from '../../spec/schema.ts';

/**
 * The built-in combiners of an ensemble, over its children's answers in
 * the ensemble's declared order, all already in one protocol:
 *
 * - merge: `{"<child>": <answer>, ...}`, whatever the protocol.
 * - concat: V2 outputs one after another, each renamed "<child>.<name>",
 *   datatypes kept; V1 predictions and Seldon ndarrays joined along the
 *   first axis.
 * - mean: element-wise mean of the numbers (V2 per output, which must have
 *   the same names and shapes; V1 predictions; Seldon ndarray or tensor).
 *   A V2 mean keeps a float datatype (a mean of FP32 is FP32, rounded as
 *   FP32) and is FP64 for integers and BOOL, as numpy's mean is; children
 *   of different datatypes meet in their common type first (datatypes.ts).
 * - vote: element-wise majority over the same structures, in the children's
 *   common datatype; a tie goes to the earliest child's value.
 * - first-success: the first child, in declared order, that answered.
 *
 * A V2 answer the combination writes is the graph's: its `model_name` is the
 * graph's name and its `id` the request's (`Identity`).
 *
 * Children that failed (soft failures) are left out; with none left, the
 * combination fails listing why each child failed.
 */

export interface ChildResult {
  readonly name: string;
  readonly ok: boolean;
  readonly body?: Json;
  readonly error?: string;
}

interface Answered {
  readonly name: string;
  readonly body: Json;
}

/** Who a V2 answer the executor writes speaks for: the graph, and the request it answers. */
export interface Identity {
  /** The graph's name, as clients call it (/v2/models/<name>/infer). */
  readonly modelName: string;
  /** The request's `id`, when it gave one. */
  readonly id?: string;
}

/** The fields of a V2 answer that say whom it is from and what it answers. */
export function identityFields(identity: Identity): JsonObject {
  return identity.id === undefined
    ? { model_name: identity.modelName }
    : { model_name: identity.modelName, id: identity.id };
}

/** A V2 answer the graph gives. */
function answerOf(identity: Identity, outputs: Json[]): JsonObject {
  return identity.id === undefined
    ? { model_name: identity.modelName, outputs }
    : { model_name: identity.modelName, id: identity.id, outputs };
}

type Reducer = (leaves: readonly Json[], names: readonly string[]) => Outcome<Json>;

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** A mean counts booleans as 1 and 0, as numpy's does: the share of children that said true. */
const mean: Reducer = (leaves, names) => {
  let sum = 0;
  for (const [i, leaf] of leaves.entries()) {
    if (typeof leaf !== 'number' && typeof leaf !== 'boolean') {
      return fail(`child "${names[i] ?? ''}" has ${JSON.stringify(leaf)} where a number is needed`);
    }
    sum += Number(leaf);
  }
  return { ok: true, value: sum / leaves.length };
};

const vote: Reducer = (leaves) => {
  const counts = new Map<string, { value: Json; count: number }>();
  for (const leaf of leaves) {
    const key = JSON.stringify(leaf);
    const entry = counts.get(key) ?? { value: leaf, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  let best: { value: Json; count: number } | undefined;
  // Map keeps first-seen order, so on a tie the earliest child's value stays.
  for (const entry of counts.values()) if (!best || entry.count > best.count) best = entry;
  return { ok: true, value: best?.value ?? null };
};

/** Applies `reduce` to the values at each position of equally shaped nested arrays. */
function elementwise(
  values: readonly Json[],
  names: readonly string[],
  reduce: Reducer,
): Outcome<Json> {
  const arrays = values.filter((v) => Array.isArray(v));
  if (arrays.length === 0) return reduce(values, names);
  const first = values[0];
  if (arrays.length !== values.length || !Array.isArray(first)) {
    const odd = values.findIndex((v) => !Array.isArray(v));
    return fail(`child "${names[odd] ?? ''}" answers a different structure than the others`);
  }
  const out: Json[] = [];
  for (let i = 0; i < first.length; i++) {
    const column: Json[] = [];
    for (const [c, value] of values.entries()) {
      if (!Array.isArray(value) || value.length !== first.length) {
        return fail(
          `child "${names[c] ?? ''}" answers ${Array.isArray(value) ? String(value.length) : 'no'} values where "${names[0] ?? ''}" answers ${String(first.length)}`,
        );
      }
      column.push(value[i] ?? null);
    }
    const reduced = elementwise(column, names, reduce);
    if (!reduced.ok) return reduced;
    out.push(reduced.value);
  }
  return { ok: true, value: out };
}

function field(
  answer: Answered,
  read: (body: JsonObject) => Json | undefined,
  what: string,
): Outcome<Json> {
  const value = isObject(answer.body) ? read(answer.body) : undefined;
  return value === undefined ? fail(`child "${answer.name}" has no ${what}`) : { ok: true, value };
}

function collect(
  answers: readonly Answered[],
  read: (body: JsonObject) => Json | undefined,
  what: string,
): Outcome<Json[]> {
  const values: Json[] = [];
  for (const answer of answers) {
    const value = field(answer, read, what);
    if (!value.ok) return value;
    values.push(value.value);
  }
  return { ok: true, value: values };
}

function seldonValues(body: JsonObject): Json | undefined {
  const data = isObject(body.data) ? body.data : undefined;
  if (!data) return undefined;
  if (data.ndarray !== undefined) return data.ndarray;
  return isObject(data.tensor) ? data.tensor.values : undefined;
}

function withSeldonValues(template: JsonObject, values: Json, answers: readonly Answered[]): Json {
  const data = isObject(template.data) ? template.data : {};
  const replaced = isObject(data.tensor)
    ? { ...data, tensor: { ...data.tensor, values } }
    : { ...data, ndarray: values };
  const meta = answers.map((a) => readMeta(a.body)).reduce(mergeMeta);
  return withMeta({ ...template, data: replaced }, meta);
}

/** A mean's values as its datatype holds them; `values` is the combination's own array. */
function rounded(values: Json, datatype: Datatype): Json {
  if (!Array.isArray(values) || datatype === 'FP64') return values;
  for (const [i, v] of values.entries())
    if (typeof v === 'number') values[i] = roundTo(datatype, v);
  return values;
}

/** The datatype the combination of `tensors` answers with, or why they cannot combine. */
function combinedDatatype(tensors: readonly Tensor[], forMean: boolean): Outcome<Datatype> {
  const first = tensors[0]?.datatype ?? '';
  if (isDatatype(first) && first !== 'BYTES' && tensors.every((t) => t.datatype === first)) {
    return { ok: true, value: forMean ? meanDatatype(first) : first };
  }
  const datatypes: Datatype[] = [];
  for (const tensor of tensors) {
    if (!isDatatype(tensor.datatype)) {
      return fail(
        `${JSON.stringify(tensor.datatype)} of "${tensor.name}" is not a tensor datatype`,
      );
    }
    datatypes.push(tensor.datatype);
  }
  const common = commonDatatype(datatypes);
  if (!common.ok) return common;
  if (forMean && common.value === 'BYTES') return fail(`a mean of BYTES is not defined`);
  return { ok: true, value: forMean ? meanDatatype(common.value) : common.value };
}

function combineV2(
  answers: readonly Answered[],
  reduce: Reducer,
  forMean: boolean,
  identity: Identity,
): Outcome<Json> {
  const names = answers.map((a) => a.name);
  const template = answers[0]?.body;
  if (!isObject(template) || !Array.isArray(template.outputs)) {
    return fail(`child "${names[0] ?? ''}" has no V2 "outputs"`);
  }
  const outputs: Json[] = [];
  for (const [index, first] of template.outputs.entries()) {
    const tensors: Tensor[] = [];
    for (const answer of answers) {
      const outputsOf =
        isObject(answer.body) && Array.isArray(answer.body.outputs) ? answer.body.outputs : [];
      const tensor = tensorOfV2(
        outputsOf[index] ?? null,
        `child "${answer.name}" outputs[${String(index)}]`,
      );
      if (!tensor.ok) return tensor;
      tensors.push(tensor.value);
    }
    const [head] = tensors;
    if (!head) continue;
    const odd = tensors.find((t) => t.name !== head.name || t.shape.join() !== head.shape.join());
    if (odd) {
      return fail(
        `outputs[${String(index)}] differ in name or shape between the children (${odd.name} [${odd.shape.join(', ')}] vs ${head.name} [${head.shape.join(', ')}])`,
      );
    }
    const datatype = combinedDatatype(tensors, forMean);
    if (!datatype.ok) return fail(`outputs[${String(index)}]: ${datatype.reason}`);
    const data = elementwise(
      tensors.map((t) => [...t.data]),
      names,
      reduce,
    );
    if (!data.ok) return data;
    // The first child's description of the output (its parameters), with the combined values.
    outputs.push({
      ...(isObject(first) ? first : {}),
      name: head.name,
      shape: [...head.shape],
      datatype: datatype.value,
      data: forMean ? rounded(data.value, datatype.value) : data.value,
    });
  }
  return { ok: true, value: answerOf(identity, outputs) };
}

function reduceAnswers(
  protocol: Protocol,
  answers: readonly Answered[],
  reduce: Reducer,
  forMean: boolean,
  identity: Identity,
): Outcome<Json> {
  const names = answers.map((a) => a.name);
  switch (protocol) {
    case 'v2':
      return combineV2(answers, reduce, forMean, identity);
    case 'v1': {
      const values = collect(answers, (b) => b.predictions, '"predictions"');
      if (!values.ok) return values;
      const combined = elementwise(values.value, names, reduce);
      return combined.ok ? { ok: true, value: { predictions: combined.value } } : combined;
    }
    case 'seldon': {
      const values = collect(answers, seldonValues, 'data.ndarray or data.tensor');
      if (!values.ok) return values;
      const combined = elementwise(values.value, names, reduce);
      if (!combined.ok) return combined;
      const template = answers[0]?.body;
      return {
        ok: true,
        value: withSeldonValues(isObject(template) ? template : {}, combined.value, answers),
      };
    }
  }
}

function concat(
  protocol: Protocol,
  answers: readonly Answered[],
  identity: Identity,
): Outcome<Json> {
  switch (protocol) {
    case 'v2': {
      const outputs: Json[] = [];
      for (const answer of answers) {
        const own =
          isObject(answer.body) && Array.isArray(answer.body.outputs)
            ? answer.body.outputs
            : undefined;
        if (!own) return fail(`child "${answer.name}" has no V2 "outputs"`);
        for (const output of own) {
          if (!isObject(output))
            return fail(`child "${answer.name}" has an output that is not an object`);
          outputs.push({
            ...output,
            name: `${answer.name}.${typeof output.name === 'string' ? output.name : ''}`,
          });
        }
      }
      return { ok: true, value: answerOf(identity, outputs) };
    }
    case 'v1': {
      const values = collect(
        answers,
        (b) => (Array.isArray(b.predictions) ? b.predictions : undefined),
        'a "predictions" array',
      );
      return values.ok ? { ok: true, value: { predictions: values.value.flat() } } : values;
    }
    case 'seldon': {
      const values = collect(
        answers,
        (b) => {
          const v = seldonValues(b);
          return Array.isArray(v) ? v : undefined;
        },
        'a data.ndarray array',
      );
      if (!values.ok) return values;
      const template = answers[0]?.body;
      const data = isObject(template) && isObject(template.data) ? template.data : {};
      const { tensor: _tensor, ...rest } = data;
      const meta = answers.map((a) => readMeta(a.body)).reduce(mergeMeta);
      return {
        ok: true,
        value: withMeta(
          {
            ...(isObject(template) ? template : {}),
            data: { ...rest, ndarray: values.value.flat() },
          },
          meta,
        ),
      };
    }
  }
}

export function combine(
  kind: BuiltinCombiner,
  protocol: Protocol,
  children: readonly ChildResult[],
  identity: Identity,
): Outcome<Json> {
  const answers: Answered[] = children.flatMap((c) =>
    c.ok && c.body !== undefined ? [{ name: c.name, body: c.body }] : [],
  );
  if (answers.length === 0) {
    const why = children.map((c) => `${c.name}: ${c.error ?? 'no answer'}`).join('; ');
    return fail(`no child answered (${why})`);
  }
  switch (kind) {
    case 'merge':
      return { ok: true, value: Object.fromEntries(answers.map((a) => [a.name, a.body])) };
    case 'first-success':
      return { ok: true, value: answers[0]?.body ?? null };
    case 'concat':
      return concat(protocol, answers, identity);
    case 'mean':
      return reduceAnswers(protocol, answers, mean, true, identity);
    case 'vote':
      return reduceAnswers(protocol, answers, vote, false, identity);
  }
}

/**
 * What a combiner node receives in `responses` mode: the answers in declared
 * order, each with its child's name; a Seldon combiner gets
 * `{"seldonMessages": [...]}` in that order, as Seldon's executor sends them.
 */
export function combinerRequest(protocol: Protocol, children: readonly ChildResult[]): Json {
  const answers = children.filter((c) => c.ok && c.body !== undefined);
  if (protocol === 'seldon') return { seldonMessages: answers.map((c) => c.body ?? null) };
  return { responses: answers.map((c) => ({ name: c.name, response: c.body ?? null })) };
}

/** A child's V2 answer, its binary tensors' bytes (if any) beside it. */
export interface ChildTensors {
  readonly name: string;
  readonly answer: Json;
  readonly tail?: Buffer;
}

/**
 * What a combiner node receives in `inference-request` mode: one V2
 * inference request whose inputs are every child's outputs, in declared
 * order, each named "<child>.<output>", so that any Open Inference Protocol
 * server can combine. Binary tensors stay binary: their bytes follow in the
 * same order.
 */
export function combinerInferenceRequest(
  children: readonly ChildTensors[],
  id: string | undefined,
): Outcome<{ request: Json; tail: Buffer }> {
  const inputs: Json[] = [];
  const tails: Buffer[] = [];
  for (const child of children) {
    const outputs = isObject(child.answer) ? child.answer.outputs : undefined;
    if (!Array.isArray(outputs)) return fail(`child "${child.name}" has no V2 "outputs"`);
    for (const output of outputs) {
      if (!isObject(output))
        return fail(`child "${child.name}" has an output that is not an object`);
      const name = typeof output.name === 'string' ? output.name : '';
      inputs.push({ ...output, name: `${child.name}.${name}` });
    }
    if (child.tail) tails.push(child.tail);
  }
  return {
    ok: true,
    value: { request: { ...(id !== undefined && { id }), inputs }, tail: Buffer.concat(tails) },
  };
}
