import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generatedGraph } from '../../bench/generate-graphs.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { parseDocuments } from '../../src/spec/parse.ts';
import { quickDocumentValues } from '../../src/spec/quick-parse.ts';

const root = join(import.meta.dirname, '..', '..');
const yamlFiles = ['examples', 'test/golden/cases'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => join(root, dir, name)),
);

const exactValues = (text: string) => parseDocuments('t.yaml', text).map((parsed) => parsed.value);

/** The quick reader either declines a text or reads it exactly as the exact reader does. */
function assertAgrees(text: string): void {
  const quick = quickDocumentValues(text);
  if (quick === undefined) return;
  const exact = parseDocuments('t.yaml', text);
  assert.ok(
    exact.every((parsed) => parsed.diagnostics.length === 0),
    `the quick reader read what the exact one rejects: ${JSON.stringify(text)}`,
  );
  assert.deepEqual(
    quick.filter((value) => value != null),
    exact.map((parsed) => parsed.value).filter((value) => value != null),
    JSON.stringify(text),
  );
}

test('the quick reader reads every example and golden case as the exact reader does', () => {
  assert.ok(yamlFiles.length >= 10);
  for (const file of yamlFiles) {
    const text = readFileSync(file, 'utf8');
    assert.ok(quickDocumentValues(text), `${file} is plain YAML and should be read quickly`);
    assertAgrees(text);
  }
  for (let i = 0; i < 8; i++) assertAgrees(generatedGraph(i));
});

test('scalars resolve as in YAML 1.2 core, as the exact reader resolves them', () => {
  const scalars = [
    ...['0o14', '014', '0x1F', '0b101', '1_000', '+12', '-0', '00', '9007199254740993'],
    ...['1e3', '1.5e+3', '1.', '.5', '1.e5', '+.5', '1e400', '-1e400', '.inf', '-.Inf', '.NaN'],
    ...['yes', 'no', 'on', 'True', 'TRUE', 'tRue', '~', 'Null', '', '2024-01-01', '12:30'],
    ...['"x\\ty"', "'it''s'", '"\\x41\\u0042"', '|\n  x\n  y\n', '>\n  x\n  y\n', '1 # c'],
  ];
  for (const scalar of scalars) {
    const text = `a: ${scalar}\n`;
    assert.ok(quickDocumentValues(text), `a: ${scalar} should be read quickly`);
    assertAgrees(text);
  }
  assert.deepEqual(quickDocumentValues('a: 1e400\nb: 0b101\nc: yes\n'), [
    { a: Number.POSITIVE_INFINITY, b: '0b101', c: 'yes' },
  ]);
});

test('anything beyond plain YAML, or wrong, is left to the exact reader', () => {
  const declined = {
    anchor: 'a: &x 1\nb: 2\n',
    alias: 'a: &x 1\nb: *x\n',
    tag: 'a: !!float 1\n',
    'local tag': 'a: !thing 1\n',
    directive: '%YAML 1.1\n---\na: yes\n',
    'flow key': '[a, b]: 1\n',
    'explicit complex key': '? - a\n: b\n',
    'long key': `${'k'.repeat(1025)}: 1\n`,
    'repeated key': 'a: 1\na: 2\n',
    'repeated key, spelled apart': '"1": a\n1: b\n',
    'syntax error': 'a: [1, 2\n',
    'tab indentation': 'a: b\n\tc: d\n',
    'control character': 'a: \u0007\n',
  };
  for (const [what, text] of Object.entries(declined)) {
    assert.equal(quickDocumentValues(text), undefined, what);
  }
  assert.ok(quickDocumentValues(`${'k'.repeat(1024)}: 1\n`));
});

test('a graph reads the same, and its problems are the exact reader’s, whichever reader ran', () => {
  const text = readFileSync(join(root, 'examples', 'scored.yaml'), 'utf8');
  const loaded = loadGraphDocuments('scored.yaml', text);
  assert.deepEqual(loaded.diagnostics, []);
  assert.ok(loaded.graphs.length > 0);
  // An anchor sends the same graph through the exact reader.
  const anchored = text.replace(/^kind: InferenceGraph$/m, 'kind: &kind InferenceGraph');
  assert.notEqual(anchored, text);
  assert.equal(quickDocumentValues(anchored), undefined);
  assert.deepEqual(loadGraphDocuments('scored.yaml', anchored), loaded);
  assert.deepEqual(exactValues(anchored), exactValues(text));
  // A problem is reported with its position-ordered diagnostics, as before.
  const broken = text.replace(/^ {2}timeout: 2s$/m, '  timeout: 2s\n  timeout: 3s');
  assert.notEqual(broken, text);
  assert.deepEqual(
    loadGraphDocuments('scored.yaml', broken).diagnostics.map((d) => d.code),
    ['duplicate-name'],
  );
});
