import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DiagnosticCode } from '../../src/spec/diagnostic.ts';
import { loadGraphFile } from '../../src/graph/load.ts';
import { MODELS, SOURCE, graphDocument } from './fixtures/documents.ts';

const valid = graphDocument(`  entry: s
  nodes:
    s: { kind: switch, cases: [{ when: { header: x-tier, regex: "g.*" }, to: a }], default: b }
${MODELS}`);

/** What YAML gives meaning to: the characters a mutation most likely breaks something with. */
const yamlSyntax = [
  '[',
  ']',
  '{',
  '}',
  ':',
  '-',
  ',',
  '&',
  '*',
  '!',
  '|',
  '>',
  "'",
  '"',
  '%',
  '@',
  '#',
  '?',
  '\n',
  ' ',
  '\t',
  '\\',
  '<<: ',
  '<<: *a',
  '&a ',
  '*a',
  '---\n',
  '...\n',
  '!!',
  '\uFEFF',
  '\uD800',
  '\u0000',
];

const mutation = fc.tuple(
  fc.nat({ max: valid.length }),
  fc.nat({ max: 20 }),
  fc.array(fc.oneof(fc.constantFrom(...yamlSyntax), fc.string({ maxLength: 4 })), { maxLength: 8 }),
);

const nested = fc
  .tuple(
    fc.integer({ min: 1, max: 5000 }),
    fc.constantFrom('flow-seq', 'flow-map', 'block-seq', 'block-map', 'mixed'),
  )
  .map(([depth, shape]) => {
    switch (shape) {
      case 'flow-seq':
        return `a: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
      case 'flow-map':
        return `a: ${'{k: '.repeat(depth)}1${'}'.repeat(depth)}\n`;
      case 'block-seq':
        return `${'- '.repeat(depth)}x\n`;
      case 'block-map':
        return (
          Array.from({ length: Math.min(depth, 1500) }, (_, i) => `${' '.repeat(i)}k:`).join('\n') +
          ' x\n'
        );
      default:
        return `a: ${'[{k: '.repeat(depth)}1${'}]'.repeat(depth)}\n`;
    }
  });

/** Anchors that multiply (a "billion laughs"), merges of merges, aliases to nowhere. */
const aliases = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.boolean())
  .map(([levels, width, merge]) => {
    const lines = ['l0: &l0 {k: v}'];
    for (let i = 1; i <= levels; i++) {
      const refs = Array.from({ length: width }, () => `*l${String(i - 1)}`).join(', ');
      lines.push(
        merge
          ? `l${String(i)}: &l${String(i)} { <<: [${refs}] }`
          : `l${String(i)}: &l${String(i)} [${refs}]`,
      );
    }
    return `${lines.join('\n')}\nspec: *l${String(levels)}\nother: *nowhere\n`;
  });

const documents = fc.oneof(
  mutation.map(
    ([at, drop, inserted]) => valid.slice(0, at) + inserted.join('') + valid.slice(at + drop),
  ),
  nested,
  aliases,
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.string({ unit: fc.constantFrom(...yamlSyntax, 'a', 'kind', 'spec', 'nodes'), maxLength: 200 }),
);

const codes = new Set<DiagnosticCode>([
  'yaml-syntax',
  'not-a-graph',
  'unknown-field',
  'missing-field',
  'wrong-type',
  'invalid-value',
  'invalid-duration',
  'invalid-address',
  'duplicate-name',
  'missing-entry',
  'dangling-reference',
  'cycle',
  'invalid-weights',
  'conflicting-route',
  'unsupported',
  'limit-exceeded',
]);

test('no document or byte string throws, hangs, or shows a stack', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        documents.map((text) => Buffer.from(text)),
        fc.uint8Array({ maxLength: 300 }).map((array) => Buffer.from(array)),
      ),
      (bytes) => {
        const started = performance.now();
        const { graphs, diagnostics } = loadGraphFile(SOURCE, bytes);
        // Coarse: a document of a few kilobytes that takes seconds is a hang in the making.
        assert.ok(
          performance.now() - started < 2000,
          `took ${String(performance.now() - started)} ms`,
        );
        for (const d of diagnostics) {
          assert.ok(codes.has(d.code), d.code);
          assert.doesNotMatch(d.message, /call stack|\n\s+at /);
        }
        assert.ok(Array.isArray(graphs));
      },
    ),
    { numRuns: 400 },
  );
});
