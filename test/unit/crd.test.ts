import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { CRD_FILE, crdFileText } from '../../src/sources/kubernetes/crd-file.ts';
import { inferenceGraphCrd } from '../../src/sources/kubernetes/crd.ts';
import { structuralSchema } from '../../src/sources/kubernetes/structural-schema.ts';

test("the chart's CRD is the one generated from the spec's schema (npm run generate:crd)", () => {
  const committed = readFileSync(join(import.meta.dirname, '..', '..', CRD_FILE), 'utf8');
  assert.equal(committed, crdFileText(), `${CRD_FILE} drifted: run npm run generate:crd`);
});

/** Every node of a schema, with its path. */
function* nodes(schema: unknown, path = ''): Generator<[string, Record<string, unknown>]> {
  if (typeof schema !== 'object' || schema === null) return;
  const node = schema as Record<string, unknown>;
  yield [path, node];
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, unknown>)) {
    yield* nodes(child, `${path}.${name}`);
  }
  if (typeof node.additionalProperties === 'object') {
    yield* nodes(node.additionalProperties, `${path}.*`);
  }
  if (node.items !== undefined) yield* nodes(node.items, `${path}[]`);
}

test('the CRD schema is structural: a type on every node but the two kinds that need none', () => {
  const crd = inferenceGraphCrd() as {
    spec: { versions: { schema: { openAPIV3Schema: unknown } }[] };
  };
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  const untyped: string[] = [];
  for (const [path, node] of nodes(schema)) {
    assert.ok(!('$ref' in node), `${path} has no $ref`);
    assert.ok(!('uniqueItems' in node), `${path}: uniqueItems is refused in CRDs`);
    assert.ok(node.additionalProperties !== false, `${path}: pruning closes objects`);
    if (typeof node.type === 'string') continue;
    const intOrString = node['x-kubernetes-int-or-string'] === true;
    const anything = node['x-kubernetes-preserve-unknown-fields'] === true;
    assert.ok(intOrString || anything, `${path} has a type`);
    untyped.push(`${path}: ${intOrString ? 'int-or-string' : 'any value'}`);
  }
  // Only where a scalar may be of several types; the controller checks them against the spec.
  assert.deepEqual(untyped.sort(), [
    '.spec.nodes.*.cases[].when.equals: any value',
    '.spec.nodes.*.cases[].when.in[]: any value',
    '.spec.nodes.*.endpoint.service.port: int-or-string',
    '.spec.nodes.*.steps[].when.equals: any value',
    '.spec.nodes.*.steps[].when.in[]: any value',
    '.spec.nodes.*.stopWhen.equals: any value',
    '.spec.nodes.*.stopWhen.in[]: any value',
  ]);
});

test('structural forms: kinds merged, literals as enums, int-or-string, sets, RE2-only patterns', () => {
  const schema = structuralSchema(
    Type.Object({
      node: Type.Union([
        Type.Object(
          { kind: Type.Literal('a'), to: Type.String() },
          { additionalProperties: false },
        ),
        Type.Object({ kind: Type.Literal('b'), weight: Type.Integer({ exclusiveMinimum: 0 }) }),
      ]),
      port: Type.Union([Type.Integer({ minimum: 1 }), Type.String()]),
      tags: Type.Array(Type.String(), { uniqueItems: true }),
      name: Type.String({ pattern: '^(?!x)[a-z]+$' }),
      labels: Type.Record(Type.String(), Type.String()),
    }),
  );
  assert.deepEqual(schema, {
    type: 'object',
    properties: {
      node: {
        type: 'object',
        properties: {
          kind: { type: 'string', enum: ['a', 'b'] },
          to: { type: 'string' },
          weight: { type: 'integer', minimum: 0, exclusiveMinimum: true },
        },
        required: ['kind'],
      },
      port: {
        'x-kubernetes-int-or-string': true,
        allOf: [{ minimum: 1 }],
      },
      tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
      // Go's regexp, like RE2, has no lookahead: the controller checks the pattern.
      name: { type: 'string' },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
    },
    required: ['node', 'port', 'tags', 'name', 'labels'],
  });
});
