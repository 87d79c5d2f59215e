import type { TSchema } from '@sinclair/typebox';
import { regexProgramSize } from '../../spec/regex-program-size.ts';

/**
 * A TypeBox schema as a Kubernetes structural schema (the only kind a CRD
 * may have): a type on every node, no $ref, `anyOf`/`oneOf` only as value
 * validation, no additionalProperties beside properties. What the spec's
 * JSON schema says that a structural one cannot is left to the controller,
 * which checks every object against the spec's own schema and reports the
 * problems in the object's status; the API server then never refuses what
 * the spec accepts:
 *
 * - a union of object kinds (a node) is one object with every kind's fields;
 * - a union of scalars of several types (a switch's `equals`) is any value;
 * - an integer-or-string union (a Service port) is `x-kubernetes-int-or-string`,
 *   each branch's checks under `allOf` (a check of numbers passes strings, and so on);
 * - closed objects are pruned by the API server, not marked
 *   `additionalProperties: false` (a strict client refuses unknown fields);
 * - `uniqueItems` (quadratic, refused in CRDs) is a list of type set;
 * - a pattern Go's regexp (RE2) cannot read (a lookahead) is left out.
 */
export type StructuralSchema = { readonly [key: string]: unknown };

type Json = Record<string, unknown>;

const scalarTypes = new Set(['string', 'integer', 'number', 'boolean']);

function plain(schema: TSchema): Json {
  // TypeBox marks its schemas with symbol keys, which JSON leaves behind.
  return JSON.parse(JSON.stringify(schema)) as Json;
}

function describe(out: Json, schema: Json): Json {
  return typeof schema.description === 'string' ? { description: schema.description, ...out } : out;
}

/** Whether RE2, as the API server's Go regexp, reads the pattern. */
function re2Reads(pattern: string): boolean {
  return !('error' in regexProgramSize(pattern));
}

function stringSchema(schema: Json): Json {
  const out: Json = { type: 'string' };
  if (typeof schema.pattern === 'string' && re2Reads(schema.pattern)) out.pattern = schema.pattern;
  for (const key of ['minLength', 'maxLength', 'format', 'enum']) {
    if (schema[key] !== undefined) out[key] = schema[key];
  }
  if (schema.const !== undefined) out.enum = [schema.const];
  return out;
}

function numberSchema(schema: Json): Json {
  const out: Json = { type: schema.type };
  if (typeof schema.minimum === 'number') out.minimum = schema.minimum;
  if (typeof schema.maximum === 'number') out.maximum = schema.maximum;
  // JSON Schema 2019's number form is OpenAPI 3.0's boolean beside a minimum.
  if (typeof schema.exclusiveMinimum === 'number') {
    out.minimum = schema.exclusiveMinimum;
    out.exclusiveMinimum = true;
  }
  if (typeof schema.exclusiveMaximum === 'number') {
    out.maximum = schema.exclusiveMaximum;
    out.exclusiveMaximum = true;
  }
  return out;
}

function objectSchema(schema: Json): Json {
  const out: Json = { type: 'object' };
  const properties = schema.properties as Record<string, Json> | undefined;
  if (properties) {
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, property]) => [name, convert(property)]),
    );
    const required = schema.required as string[] | undefined;
    if (required && required.length > 0) out.required = required;
  }
  const patterns = schema.patternProperties as Record<string, Json> | undefined;
  const [keys, values] = Object.entries(patterns ?? {})[0] ?? [];
  if (keys !== undefined && values !== undefined) {
    if (keys !== '^(.*)$') throw new Error(`a record keyed by ${keys} has no structural form`);
    out.additionalProperties = convert(values);
  }
  if (schema.additionalProperties === true) out['x-kubernetes-preserve-unknown-fields'] = true;
  for (const key of ['minProperties', 'maxProperties']) {
    if (schema[key] !== undefined) out[key] = schema[key];
  }
  return out;
}

function arraySchema(schema: Json): Json {
  const items = convert(schema.items as Json);
  const out: Json = { type: 'array', items };
  for (const key of ['minItems', 'maxItems']) {
    if (schema[key] !== undefined) out[key] = schema[key];
  }
  if (schema.uniqueItems === true) {
    if (!scalarTypes.has(String(items.type))) {
      throw new Error('unique items that are not scalars have no structural form');
    }
    out['x-kubernetes-list-type'] = 'set';
  }
  return out;
}

/** Kubernetes' own extensions pass through as written. */
function extensions(schema: Json): Json {
  return Object.fromEntries(
    Object.entries(schema).filter(([key]) => key.startsWith('x-kubernetes-')),
  );
}

/** Objects of several kinds as one: every kind's fields; what they share is required. */
function mergedObjects(options: readonly Json[]): Json {
  const properties = new Map<string, { schema: Json; descriptions: string[] }>();
  const converted = options.map(objectSchema);
  for (const option of converted) {
    for (const [name, property] of Object.entries(option.properties as Record<string, Json>)) {
      const { description, ...shape } = property;
      const seen = properties.get(name);
      if (!seen) {
        properties.set(name, {
          schema: shape,
          descriptions: typeof description === 'string' ? [description] : [],
        });
        continue;
      }
      seen.schema = sameField(name, seen.schema, shape);
      if (typeof description === 'string' && !seen.descriptions.includes(description)) {
        seen.descriptions.push(description);
      }
    }
  }
  const required = converted
    .map((option) => (option.required as string[] | undefined) ?? [])
    .reduce((shared, names) => shared.filter((name) => names.includes(name)));
  return {
    type: 'object',
    properties: Object.fromEntries(
      [...properties].map(([name, { schema, descriptions }]) => [
        name,
        descriptions.length > 0 ? { description: descriptions.join(' '), ...schema } : schema,
      ]),
    ),
    ...(required.length > 0 && { required }),
  };
}

/**
 * One field as two kinds declare it: the same but for its description, or
 * for its allowed values (each kind's `kind`), which are then either's.
 */
function sameField(name: string, a: Json, b: Json): Json {
  const { enum: aValues, ...aRest } = a;
  const { enum: bValues, ...bRest } = b;
  if (JSON.stringify(aRest) !== JSON.stringify(bRest)) {
    throw new Error(`field "${name}" differs between the kinds of a union`);
  }
  if (!Array.isArray(aValues) || !Array.isArray(bValues)) {
    if (aValues !== bValues)
      throw new Error(`field "${name}" differs between the kinds of a union`);
    return a;
  }
  return { ...a, enum: [...new Set([...(aValues as unknown[]), ...(bValues as unknown[])])] };
}

function unionSchema(options: readonly Json[]): Json {
  if (options.every((option) => option.const !== undefined)) {
    const values = options.map((option) => option.const);
    const types = new Set(values.map((value) => typeof value));
    if (types.size !== 1 || !types.has('string')) {
      throw new Error('only unions of string literals have a structural form');
    }
    return { type: 'string', enum: values };
  }
  const types = options.map((option) => String(option.type));
  if (types.every((type) => type === 'object')) return mergedObjects(options);
  if (types.length === 2 && types.includes('integer') && types.includes('string')) {
    // A type may not stand under allOf; each branch's checks apply to values of its type only.
    const checks = options
      .map((option) => {
        const { description: _description, type: _type, ...rest } = convert(option);
        return rest;
      })
      .filter((rest) => Object.keys(rest).length > 0);
    return {
      'x-kubernetes-int-or-string': true,
      ...(checks.length > 0 && { allOf: checks }),
    };
  }
  if (types.every((type) => scalarTypes.has(type))) {
    // Scalars of several types: any value here, checked by the controller.
    return { 'x-kubernetes-preserve-unknown-fields': true };
  }
  throw new Error(`a union of ${types.join(', ')} has no structural form`);
}

function convert(schema: Json): Json {
  const options = schema.anyOf as Json[] | undefined;
  let out: Json;
  if (options) out = unionSchema(options);
  else {
    switch (schema.type) {
      case 'object':
        out = objectSchema(schema);
        break;
      case 'array':
        out = arraySchema(schema);
        break;
      case 'string':
        out = stringSchema(schema);
        break;
      case 'integer':
      case 'number':
        out = numberSchema(schema);
        break;
      case 'boolean':
        out = { type: 'boolean' };
        break;
      default:
        throw new Error(`a schema of type ${String(schema.type)} has no structural form`);
    }
  }
  return { ...describe(out, schema), ...extensions(schema) };
}

/** The structural form of a TypeBox schema. Throws on a construct it has no form for. */
export function structuralSchema(schema: TSchema): StructuralSchema {
  return convert(plain(schema));
}
