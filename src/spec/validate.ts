import { Type, type TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { Diagnostic } from './diagnostic.ts';
import { formatPath, pointerSegments, type PathSegment } from './paths.ts';
import {
  API_VERSION,
  DurationString,
  GraphSpecBody,
  InferenceGraphDocument,
  KIND,
  Metadata,
  ModelName,
  Name,
  NodeName,
  nodeSchemas,
  type GraphSpecBody as GraphSpecBodyType,
  type NodeKind,
  type NodeSpec,
} from './schema.ts';
import { UINT32_MAX } from './limits.ts';
import { closest, didYouMean } from './suggest.ts';

/**
 * The document schema with nodes left open: each node is then checked
 * against its own kind's schema, so errors name that kind's fields instead of
 * "expected union".
 */
const DocumentShell = Type.Object(
  {
    apiVersion: InferenceGraphDocument.properties.apiVersion,
    kind: InferenceGraphDocument.properties.kind,
    metadata: Metadata,
    spec: Type.Object(
      {
        ...GraphSpecBody.properties,
        nodes: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: true },
);

const kinds = Object.keys(nodeSchemas) as NodeKind[];

/** The graph-wide settings of spec, each present only if it passed its schema. */
export type GraphSettings = Partial<Omit<GraphSpecBodyType, 'nodes'>>;

export interface ValidatedDocument {
  /** metadata.name and namespace, when valid. */
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  readonly settings: GraphSettings;
  /** The nodes that passed their kind's schema, by name. */
  readonly nodes: ReadonlyMap<string, NodeSpec>;
  /** Every node name in the document, valid or not, to resolve references against. */
  readonly nodeNames: readonly string[];
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') {
    return `${typeof value} ${String(value)}`;
  }
  return value === undefined ? 'nothing' : typeof value;
}

/** A header value as a message quotes it. */
function shown(value: unknown): string {
  if (value === undefined) return 'none';
  return typeof value === 'string' ? JSON.stringify(value) : typeName(value);
}

/** "≥ 0", "from 0 to 10": the bounds a number schema declares, for messages. */
function bounds(schema: Record<string, unknown>): string {
  const { minimum, maximum, exclusiveMinimum } = schema;
  const low =
    typeof minimum === 'number'
      ? `≥ ${String(minimum)}`
      : typeof exclusiveMinimum === 'number'
        ? `> ${String(exclusiveMinimum)}`
        : undefined;
  const high = typeof maximum === 'number' ? `≤ ${String(maximum)}` : undefined;
  if (typeof minimum === 'number' && high !== undefined) {
    return ` from ${String(minimum)} to ${String(maximum)}`;
  }
  return [low, high]
    .filter((b) => b !== undefined)
    .map((b) => ` ${b}`)
    .join(' and');
}

const typeWords: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

function alternatives(schema: TSchema): { literals?: string[]; types: string[] } {
  const options = (schema as { anyOf?: Record<string, unknown>[] }).anyOf ?? [];
  if (options.length > 0 && options.every((o) => 'const' in o)) {
    return { literals: options.map((o) => String(o.const)), types: [] };
  }
  return { types: options.map((o) => typeWords[String(o.type)] ?? String(o.type)) };
}

function jsonType(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (Array.isArray(value)) return 'array';
  return value === null ? 'null' : typeof value;
}

/** The one branch of a union whose type the value has, if exactly one has it. */
function branchOfType(schema: TSchema, value: unknown): TSchema | undefined {
  const options = (schema as { anyOf?: TSchema[] }).anyOf ?? [];
  const type = jsonType(value);
  const matching = options.filter(
    (o) => o.type === type || (o.type === 'number' && type === 'integer'),
  );
  return matching.length === 1 ? matching[0] : undefined;
}

function oneOf(words: readonly string[]): string {
  return words.length <= 1
    ? words.join('')
    : `${words.slice(0, -1).join(', ')} or ${String(words.at(-1))}`;
}

type Described = Pick<Diagnostic, 'code' | 'message'> & { hint?: string };

function describe(error: ValueError, field: string): Described {
  const schema = error.schema as Record<string, unknown>;
  const got = typeName(error.value);
  const withDescription = (d: Described): Described =>
    typeof schema.description === 'string' ? { ...d, hint: schema.description } : d;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = knownFields(error.schema);
      return {
        code: 'unknown-field',
        message: `unknown field "${field}"`,
        hint: didYouMean(field, known) ?? `known fields here: ${known.join(', ')}`,
      };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return withDescription({
        code: 'missing-field',
        message: `missing required field "${field}"`,
      });
    case ValueErrorType.StringPattern:
      if (schema.pattern === DurationString.pattern) {
        return {
          code: 'invalid-duration',
          message: `${got} is not a duration`,
          hint: 'write a number and a unit: "250ms", "2s", "1.5s", "1m"',
        };
      }
      if (schema.pattern === ModelName.pattern && typeof error.value === 'string') {
        return modelNameProblem(error.value);
      }
      return withDescription({
        code: 'invalid-value',
        message: `${got} is not ${schema.pattern === Name.pattern ? 'a valid name' : 'valid here'}`,
      });
    case ValueErrorType.StringMinLength:
      return { code: 'invalid-value', message: 'must not be empty' };
    case ValueErrorType.StringMaxLength:
      return {
        code: 'invalid-value',
        message: `must be at most ${String(schema.maxLength)} characters`,
      };
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return {
        code: 'invalid-value',
        message: `must be ≥ ${String(schema.minimum)}, got ${String(error.value)}`,
      };
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return {
        code: 'invalid-value',
        message: `must be ≤ ${String(schema.maximum)}, got ${String(error.value)}`,
        ...(schema.maximum === UINT32_MAX && {
          hint: 'Envoy keeps this number in 32 bits: a larger one would wrap around (4294967296 becomes 0)',
        }),
      };
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return {
        code: 'invalid-value',
        message: `must be > ${String(schema.exclusiveMinimum)}, got ${String(error.value)}`,
      };
    case ValueErrorType.ArrayMinItems:
      return {
        code: 'invalid-value',
        message: `needs at least ${String(schema.minItems)} item(s)`,
      };
    case ValueErrorType.ArrayMaxItems:
      return {
        code: 'invalid-value',
        message: `allows at most ${String(schema.maxItems)} item(s)`,
      };
    case ValueErrorType.ArrayUniqueItems:
      return { code: 'invalid-value', message: 'must not list the same item twice' };
    case ValueErrorType.ObjectMinProperties:
      return { code: 'invalid-value', message: 'must not be empty' };
    case ValueErrorType.Literal:
      return {
        code: 'invalid-value',
        message: `must be ${JSON.stringify(schema.const)}, got ${got}`,
      };
    case ValueErrorType.Union: {
      const branch = branchOfType(error.schema, error.value);
      const first = branch && Value.Errors(branch, error.value).First();
      // A value of one branch's type ("port: 0") is wrong by that branch's rules, not its type.
      if (first) return describe(first, field);
      const { literals, types } = alternatives(error.schema);
      if (literals) {
        const suggestion =
          typeof error.value === 'string' ? didYouMean(error.value, literals) : undefined;
        return {
          code: 'invalid-value',
          message: `must be one of ${literals.join(', ')}; got ${got}`,
          ...(suggestion !== undefined && { hint: suggestion }),
        };
      }
      return { code: 'wrong-type', message: `must be ${oneOf(types)}, got ${got}` };
    }
    case ValueErrorType.String:
      return { code: 'wrong-type', message: `must be a string, got ${got}` };
    case ValueErrorType.Integer:
      return { code: 'wrong-type', message: `must be an integer${bounds(schema)}, got ${got}` };
    case ValueErrorType.Number:
      return { code: 'wrong-type', message: `must be a number${bounds(schema)}, got ${got}` };
    case ValueErrorType.Boolean:
      return { code: 'wrong-type', message: `must be true or false, got ${got}` };
    case ValueErrorType.Array:
      return { code: 'wrong-type', message: `must be a list, got ${got}` };
    case ValueErrorType.Object:
      return { code: 'wrong-type', message: `must be a mapping, got ${got}` };
    default:
      return { code: 'invalid-value', message: error.message };
  }
}

/** Half of a UTF-16 surrogate pair without its other half: no Unicode character at all. */
export const loneSurrogate = /[\uD800-\uDFFF]/u;

/** Characters a URL path segment holds as they are; anything else is percent-encoded. */
const pathSegmentCharacter = /[-A-Za-z0-9._~!$&'()*+,;=:@]/;

/** Why a model name cannot stand in a URL path as written, and how it would be written there. */
function modelNameProblem(name: string): Described {
  if (name === '.' || name === '..') {
    return {
      code: 'invalid-value',
      message: `the model name ${JSON.stringify(name)} would be read as a path step, not a name`,
      hint: 'name the model as its server does',
    };
  }
  const bad = new Set<string>();
  let encoded = '';
  let at = 0;
  for (const character of name) {
    const isEscape = character === '%' && /^%[0-9A-Fa-f]{2}/.test(name.slice(at));
    at += character.length;
    if (pathSegmentCharacter.test(character) || isEscape) {
      encoded += character;
    } else {
      bad.add(character);
      // A lone surrogate has no UTF-8 form: the document was refused for it already.
      encoded += loneSurrogate.test(character) ? character : encodeURIComponent(character);
    }
  }
  const shown = [...bad].map((c) => JSON.stringify(c)).join(', ');
  return {
    code: 'invalid-value',
    message: `the model name ${JSON.stringify(name)} becomes part of the model's URL path, where ${shown} cannot stand as written`,
    hint: `write it percent-encoded, as the model server's URL has it: ${JSON.stringify(encoded)}`,
  };
}

function knownFields(schema: TSchema): string[] {
  return Object.keys((schema as { properties?: Record<string, unknown> }).properties ?? {});
}

/** Every schema error of `value`, one per path (the first, most specific one), under `prefix`. */
export function schemaDiagnostics(
  source: string,
  schema: TSchema,
  value: unknown,
  prefix: readonly PathSegment[],
): Diagnostic[] {
  // Walking for errors costs several times a check: most documents have none.
  if (Value.Check(schema, value)) return [];
  const byPath = new Map<string, Diagnostic>();
  // "wieght" is unknown and "weight" missing: the did-you-mean says both at once.
  const misspelt = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const segments = [...prefix, ...pointerSegments(error.path, value)];
    const field = String(segments.at(-1) ?? '');
    const path = formatPath(segments);
    if (error.type === ValueErrorType.ObjectAdditionalProperties) {
      const meant = closest(field, knownFields(error.schema));
      if (meant !== undefined) misspelt.add(formatPath([...segments.slice(0, -1), meant]));
    }
    // A missing field also fails its type check, a bad union every branch: say it once.
    if (byPath.has(path)) continue;
    byPath.set(path, { source, path, ...describe(error, field) });
  }
  return [...byPath.values()].filter((d) => d.code !== 'missing-field' || !misspelt.has(d.path));
}

/**
 * Strings that hold half a UTF-16 surrogate pair ("\uD800" in a quoted YAML
 * string): no character at all, so nothing Envoy could be sent; protobuf
 * would silently turn it into U+FFFD. The reader nests at most
 * MAX_NESTING_DEPTH levels, so this walk's recursion is bounded.
 */
function holdsLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return loneSurrogate.test(value);
  if (Array.isArray(value)) return value.some(holdsLoneSurrogate);
  if (!isMapping(value)) return false;
  for (const key in value) {
    if (loneSurrogate.test(key) || holdsLoneSurrogate(value[key])) return true;
  }
  return false;
}

function malformedText(
  source: string,
  value: unknown,
  path: PathSegment[] = [],
  found: Diagnostic[] = [],
): Diagnostic[] {
  // Nearly every document holds none: look first, and only then find where.
  if (path.length === 0 && !holdsLoneSurrogate(value)) return found;
  const report = (at: PathSegment[], what: string) => {
    found.push({
      code: 'invalid-value',
      source,
      path: formatPath(at),
      message: `${what} holds an unpaired UTF-16 surrogate, which is no character`,
      hint: 'write the character itself, or both halves of its surrogate pair',
    });
  };
  if (typeof value === 'string') {
    if (loneSurrogate.test(value)) report(path, 'the value');
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => malformedText(source, item, [...path, index], found));
  } else if (isMapping(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (loneSurrogate.test(key)) report([...path, key], 'the key');
      malformedText(source, item, [...path, key], found);
    }
  }
  return found;
}

/** Each graph-wide setting that passed its own schema; a bad one is left out, not guessed at. */
function validSettings(spec: Record<string, unknown>): GraphSettings {
  const settings: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(GraphSpecBody.properties)) {
    if (key !== 'nodes' && Object.hasOwn(spec, key) && Value.Check(schema, spec[key])) {
      settings[key] = spec[key];
    }
  }
  return settings;
}

function validateNode(
  source: string,
  name: string,
  node: unknown,
): { node?: NodeSpec; diagnostics: Diagnostic[] } {
  const at: PathSegment[] = ['spec', 'nodes', name];
  const diagnostics: Diagnostic[] = [];
  if (!Value.Check(NodeName, name)) {
    diagnostics.push({
      code: 'invalid-value',
      source,
      path: formatPath(at),
      message: `node name ${JSON.stringify(name)} is not valid`,
      hint: 'node names are letters, digits, "-", "_" and ".", at most 63, starting and ending with a letter or digit',
    });
  }
  if (!isMapping(node)) {
    diagnostics.push({
      code: 'wrong-type',
      source,
      path: formatPath(at),
      message: `must be a mapping with a kind, got ${typeName(node)}`,
      hint: 'for example { kind: model, endpoint: { url: "http://iris:8080" } }',
    });
    return { diagnostics };
  }
  const kind = node.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(nodeSchemas, kind)) {
    const suggestion = typeof kind === 'string' ? didYouMean(kind, kinds) : undefined;
    diagnostics.push({
      source,
      path: formatPath([...at, 'kind']),
      ...(kind === undefined
        ? { code: 'missing-field', message: 'missing required field "kind"' }
        : typeof kind === 'string'
          ? { code: 'invalid-value', message: `unknown node kind ${JSON.stringify(kind)}` }
          : {
              code: 'wrong-type',
              message: `must be the name of a node kind, got ${typeName(kind)}`,
            }),
      hint: suggestion ?? `one of: ${kinds.join(', ')}`,
    });
    return { diagnostics };
  }
  const problems = schemaDiagnostics(source, nodeSchemas[kind as NodeKind], node, at);
  diagnostics.push(...problems);
  return diagnostics.length === 0 ? { node: node as NodeSpec, diagnostics } : { diagnostics };
}

/**
 * Checks a parsed document against the schema, a node at a time. The
 * document comes back whenever it is an InferenceGraph at all, holding only
 * the parts that passed, so later checks can still look at those parts and
 * report every problem at once.
 */
export function validateDocument(
  source: string,
  value: unknown,
): { document?: ValidatedDocument; diagnostics: Diagnostic[] } {
  if (!isMapping(value)) {
    return {
      diagnostics: [
        {
          code: 'not-a-graph',
          source,
          path: '',
          message: `the document is ${typeName(value)}, not an InferenceGraph`,
          hint: `start it with "apiVersion: ${API_VERSION}" and "kind: ${KIND}"`,
        },
      ],
    };
  }
  if (value.apiVersion !== API_VERSION || value.kind !== KIND) {
    return {
      diagnostics: [
        {
          code: 'not-a-graph',
          source,
          path: value.apiVersion === API_VERSION ? 'kind' : 'apiVersion',
          message: `expected apiVersion "${API_VERSION}" and kind "${KIND}", got ${shown(value.apiVersion)} and ${shown(value.kind)}`,
          hint: 'Switchyard reads InferenceGraph documents only',
        },
      ],
    };
  }
  const diagnostics = [
    ...malformedText(source, value),
    ...schemaDiagnostics(source, DocumentShell, value, []),
  ];
  const metadata = isMapping(value.metadata) ? value.metadata : {};
  const spec = isMapping(value.spec) ? value.spec : {};
  const nodes = new Map<string, NodeSpec>();
  const rawNodes = isMapping(spec.nodes) ? spec.nodes : {};
  for (const [name, raw] of Object.entries(rawNodes)) {
    const checked = validateNode(source, name, raw);
    diagnostics.push(...checked.diagnostics);
    if (checked.node) nodes.set(name, checked.node);
  }
  const valid = (schema: TSchema, v: unknown) =>
    Value.Check(schema, v) ? (v as string) : undefined;
  return {
    document: {
      name: valid(Metadata.properties.name, metadata.name),
      namespace: valid(Name, metadata.namespace),
      settings: validSettings(spec),
      nodes,
      nodeNames: Object.keys(rawNodes),
    },
    diagnostics,
  };
}
