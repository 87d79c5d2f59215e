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
  nodeSchemas,
  type GraphSpecBody as GraphSpecBodyType,
  type NodeKind,
  type NodeSpec,
} from './schema.ts';
import { didYouMean } from './suggest.ts';

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

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function literalsOf(schema: TSchema): string[] | undefined {
  const options = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!options?.every((o) => 'const' in o)) return undefined;
  return options.map((o) => String((o as unknown as { const: unknown }).const));
}

function describe(
  error: ValueError,
  field: string,
): Pick<Diagnostic, 'code' | 'message'> & { hint?: string } {
  const schema = error.schema as Record<string, unknown>;
  const got = typeName(error.value);
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
      const suggestion = didYouMean(field, known);
      return {
        code: 'unknown-field',
        message: `unknown field "${field}"`,
        hint: suggestion ?? `known fields here: ${known.join(', ')}`,
      };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { code: 'missing-field', message: `missing required field "${field}"` };
    case ValueErrorType.StringPattern:
      if (schema.pattern === DurationString.pattern) {
        return {
          code: 'invalid-duration',
          message: `${got} is not a duration`,
          hint: 'write a number and a unit: "250ms", "2s", "1.5s", "1m"',
        };
      }
      return {
        code: 'invalid-value',
        message: `${got} is not valid here`,
        ...(typeof schema.description === 'string' && { hint: schema.description }),
      };
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
      const literals = literalsOf(error.schema);
      if (literals) {
        const suggestion =
          typeof error.value === 'string' ? didYouMean(error.value, literals) : undefined;
        return {
          code: 'invalid-value',
          message: `must be one of ${literals.join(', ')}; got ${got}`,
          ...(suggestion !== undefined && { hint: suggestion }),
        };
      }
      return { code: 'wrong-type', message: `${got} does not fit here` };
    }
    case ValueErrorType.String:
      return { code: 'wrong-type', message: `must be a string, got ${got}` };
    case ValueErrorType.Integer:
      return { code: 'wrong-type', message: `must be a whole number, got ${got}` };
    case ValueErrorType.Number:
      return { code: 'wrong-type', message: `must be a number, got ${got}` };
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

/** Every schema error of `value`, one per path, as diagnostics under `prefix`. */
export function schemaDiagnostics(
  source: string,
  schema: TSchema,
  value: unknown,
  prefix: readonly PathSegment[],
): Diagnostic[] {
  const byPath = new Map<string, Diagnostic>();
  for (const error of Value.Errors(schema, value)) {
    const segments = [...prefix, ...pointerSegments(error.path)];
    const field = String(segments.at(-1) ?? '');
    const path = formatPath(segments);
    // One problem per place: a missing field also fails its type check, a bad union every branch.
    if (byPath.has(path)) continue;
    const described = describe(error, field);
    byPath.set(path, { source, path, ...described });
  }
  return [...byPath.values()];
}

export type ValidatedDocument = {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: Omit<GraphSpecBodyType, 'nodes'>;
  /** The nodes that passed their kind's schema, by name. */
  readonly nodes: ReadonlyMap<string, NodeSpec>;
  /** Every node name in the document, valid or not, to resolve references against. */
  readonly nodeNames: readonly string[];
};

/** Checks a parsed document against the schema, a node at a time. */
export function validateDocument(
  source: string,
  value: unknown,
): { document?: ValidatedDocument; diagnostics: Diagnostic[] } {
  const header = value as { apiVersion?: unknown; kind?: unknown } | null;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
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
  if (header.apiVersion !== API_VERSION || header.kind !== KIND) {
    return {
      diagnostics: [
        {
          code: 'not-a-graph',
          source,
          path: header.apiVersion === API_VERSION ? 'kind' : 'apiVersion',
          message: `expected apiVersion "${API_VERSION}" and kind "${KIND}", got ${JSON.stringify(header.apiVersion)} and ${JSON.stringify(header.kind)}`,
          hint: 'Switchyard reads InferenceGraph documents only',
        },
      ],
    };
  }
  const diagnostics = schemaDiagnostics(source, DocumentShell, value, []);
  const spec = (value as { spec?: { nodes?: unknown } }).spec;
  const rawNodes = spec?.nodes;
  const nodes = new Map<string, NodeSpec>();
  const nodeNames: string[] = [];
  if (typeof rawNodes === 'object' && rawNodes !== null && !Array.isArray(rawNodes)) {
    for (const [name, node] of Object.entries(rawNodes as Record<string, unknown>)) {
      nodeNames.push(name);
      const at: PathSegment[] = ['spec', 'nodes', name];
      const nameProblems = schemaDiagnostics(source, Metadata.properties.name, name, at).map(
        (d) => ({
          ...d,
          message: `node name ${JSON.stringify(name)}: ${d.message}`,
          hint: 'node names are lowercase letters, digits and "-"',
        }),
      );
      diagnostics.push(...nameProblems);
      const kind = (node as { kind?: unknown } | null)?.kind;
      if (typeof node !== 'object' || node === null || Array.isArray(node)) {
        diagnostics.push({
          code: 'wrong-type',
          source,
          path: formatPath(at),
          message: `must be a mapping with a kind, got ${typeName(node)}`,
        });
        continue;
      }
      if (typeof kind !== 'string' || !(kind in nodeSchemas)) {
        const suggestion = typeof kind === 'string' ? didYouMean(kind, kinds) : undefined;
        diagnostics.push({
          code: kind === undefined ? 'missing-field' : 'invalid-value',
          source,
          path: formatPath([...at, 'kind']),
          message:
            kind === undefined
              ? 'missing required field "kind"'
              : `unknown node kind ${JSON.stringify(kind)}`,
          hint: suggestion ?? `one of: ${kinds.join(', ')}`,
        });
        continue;
      }
      const problems = schemaDiagnostics(source, nodeSchemas[kind as NodeKind], node, at);
      diagnostics.push(...problems);
      if (problems.length === 0 && nameProblems.length === 0) nodes.set(name, node as NodeSpec);
    }
  }
  // Reference checks still run on a document with other problems, so every problem shows at once.
  const body = spec as Partial<GraphSpecBodyType> | undefined;
  if (typeof body?.entry !== 'string' || nodeNames.length === 0) return { diagnostics };
  const { nodes: _nodes, ...rest } = body as GraphSpecBodyType;
  const metadata = (value as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  return {
    document: {
      metadata: {
        name: typeof metadata?.name === 'string' ? metadata.name : '',
        ...(typeof metadata?.namespace === 'string' && { namespace: metadata.namespace }),
      },
      spec: rest,
      nodes,
      nodeNames,
    },
    diagnostics,
  };
}
