import { isObject, type Json, type JsonObject } from '../../protocols/json.ts';
import type { Outcome } from '../../protocols/outcome.ts';
import { mergeMeta, readMeta, withMeta } from '../../protocols/seldon-meta.ts';
import { tensorOfV2 } from '../../protocols/tensor.ts';
import type { BuiltinCombiner, Protocol } from '../../spec/schema.ts';

/**
 * The built-in combiners of an ensemble, over its children's answers in
 * the ensemble's declared order, all already in one protocol:
 *
 * - merge: `{"<child>": <answer>, ...}`, whatever the protocol.
 * - concat: V2 outputs one after another, each renamed "<child>.<name>";
 *   V1 predictions and Seldon ndarrays joined along the first axis.
 * - mean: element-wise mean of the numbers (V2 per output, which must have
 *   the same names and shapes; V1 predictions; Seldon ndarray or tensor).
 * - vote: element-wise majority over the same structures; a tie goes to the
 *   earliest child's value.
 * - first-success: the first child, in declared order, that answered.
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

type Reducer = (leaves: readonly Json[], names: readonly string[]) => Outcome<Json>;

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

const mean: Reducer = (leaves, names) => {
  let sum = 0;
  for (const [i, leaf] of leaves.entries()) {
    if (typeof leaf !== 'number') {
      return fail(`child "${names[i] ?? ''}" has ${JSON.stringify(leaf)} where a number is needed`);
    }
    sum += leaf;
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

function combineV2(
  answers: readonly Answered[],
  reduce: Reducer,
  datatype?: string,
): Outcome<Json> {
  const names = answers.map((a) => a.name);
  const template = answers[0]?.body;
  if (!isObject(template) || !Array.isArray(template.outputs)) {
    return fail(`child "${names[0] ?? ''}" has no V2 "outputs"`);
  }
  const outputs: Json[] = [];
  for (const [index, first] of template.outputs.entries()) {
    const tensors = [];
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
    const data = elementwise(
      tensors.map((t) => [...t.data]),
      names,
      reduce,
    );
    if (!data.ok) return data;
    outputs.push({
      ...(isObject(first) ? first : {}),
      name: head.name,
      shape: [...head.shape],
      datatype: datatype ?? head.datatype,
      data: data.value,
    });
  }
  return { ok: true, value: { ...template, outputs } };
}

function reduceAnswers(
  protocol: Protocol,
  answers: readonly Answered[],
  reduce: Reducer,
  numeric: boolean,
): Outcome<Json> {
  const names = answers.map((a) => a.name);
  switch (protocol) {
    case 'v2':
      return combineV2(answers, reduce, numeric ? 'FP64' : undefined);
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

function concat(protocol: Protocol, answers: readonly Answered[]): Outcome<Json> {
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
      const template = answers[0]?.body;
      return { ok: true, value: { ...(isObject(template) ? template : {}), outputs } };
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
      return concat(protocol, answers);
    case 'mean':
      return reduceAnswers(protocol, answers, mean, true);
    case 'vote':
      return reduceAnswers(protocol, answers, vote, false);
  }
}

/** What a user combiner endpoint receives: the answers in declared order, each with its child's name. */
export function combinerRequest(protocol: Protocol, children: readonly ChildResult[]): Json {
  const answers = children.filter((c) => c.ok && c.body !== undefined);
  if (protocol === 'seldon') {
    return {
      seldonMessages: answers.map((c) => {
        const body = c.body ?? null;
        const meta = readMeta(body);
        return withMeta(body, { ...meta, tags: { ...meta.tags, child: c.name } });
      }),
    };
  }
  return { responses: answers.map((c) => ({ name: c.name, response: c.body ?? null })) };
}
