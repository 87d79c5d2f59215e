import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileGraphFiles } from '../../src/controller/compile-files.ts';
import { formatDiagnostic } from '../../src/spec/diagnostic.ts';
import { graphDocument } from './fixtures/documents.ts';
import { defaultListener } from '../support/listener.ts';

/** What `validate` and `compile` run: graph files through every stage `serve` runs, once. */

const listener = defaultListener();

/** A one-model graph; `settings` are extra spec lines. */
function text(name: string, settings = '', entry = 'a'): string {
  return graphDocument(
    `  entry: ${entry}\n${settings}  nodes:\n    a: { kind: model, endpoint: { url: "http://a" } }\n`,
    name,
  );
}

function stickySplit(first: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: sticky }
spec:
  entry: s
  nodes:
    s: { kind: splitter, stickyHeader: x-user, routes: [{ to: ${first}, weight: 1 }, { to: a, weight: 1 }] }
    ${first}: { kind: ${first === 't' ? 'transformer, to: a' : 'model, model: m'}, endpoint: { addresses: ["127.0.0.1:9001"] } }
    a: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:9002"] } }
`;
}

test('files: directories expand to their graph files in name order; conflicts and unreadable files are problems, by file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-graphs-'));
  try {
    await writeFile(join(dir, 'b.yml'), text('second', '  protocol: seldon\n'));
    await writeFile(join(dir, 'a.yaml'), text('first', '  protocol: seldon\n'));
    await writeFile(
      join(dir, 'c.json'),
      JSON.stringify({
        apiVersion: 'switchyard.io/v1alpha1',
        kind: 'InferenceGraph',
        metadata: { name: 'third' },
        spec: { entry: 'a', nodes: { a: { kind: 'model', endpoint: { url: 'http://a' } } } },
      }),
    );
    await writeFile(join(dir, 'd.yaml'), text('broken', '', 'nowhere'));
    await writeFile(join(dir, 'notes.txt'), 'not a graph');
    await mkdir(join(dir, 'nested.yaml'));
    const single = join(dir, 'a.yaml');
    const missing = join(dir, 'missing.yaml');
    const result = await compileGraphFiles([dir, missing], listener);
    assert.deepEqual(
      result.graphs.map((g) => [g.name, g.source]),
      [
        ['first', join(dir, 'a.yaml')],
        ['third', join(dir, 'c.json')],
      ],
    );
    assert.deepEqual(
      result.diagnostics.map((d) => [d.code, d.source, d.path]),
      [
        ['conflicting-route', join(dir, 'b.yml'), 'spec.host'],
        ['missing-entry', join(dir, 'd.yaml'), 'spec.entry'],
        ['not-a-graph', missing, ''],
      ],
    );
    assert.equal(result.diagnostics[2]?.message, 'no such file or directory');
    // A file given by itself keeps the path as the caller wrote it.
    const alone = await compileGraphFiles([single], listener);
    assert.deepEqual(
      alone.graphs.map((g) => g.source),
      [single],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('files the compiler refuses are refused, not only what the spec schema refuses', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-validate-'));
  try {
    const file = join(dir, 'sticky.yaml');
    await writeFile(file, stickySplit('b'));
    const valid = await compileGraphFiles([dir], listener);
    assert.deepEqual(valid.diagnostics, []);
    assert.equal(valid.graphs.length, 1);
    // A sticky split over a transformer is a valid document, but no plan can route it.
    await writeFile(file, stickySplit('t'));
    const refused = await compileGraphFiles([dir], listener);
    assert.deepEqual(
      refused.diagnostics.map((d) => [d.code, d.path]),
      [['unsupported', 'spec.nodes.s.routes[0].to']],
    );
    assert.deepEqual(refused.graphs, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** What validate prints of these paths' problems. */
async function problems(paths: string[]): Promise<string[]> {
  return (await compileGraphFiles(paths, listener)).diagnostics.map(formatDiagnostic);
}

test('an empty, mistyped or missing path is an error, never "0 graph(s) valid"', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-validate-'));
  try {
    assert.deepEqual(await problems([dir]), [
      `${dir}: the directory holds no graph files (.yaml, .yml, .json)\n    hint: check the path`,
    ]);
    await mkdir(join(dir, 'graphs'));
    await writeFile(join(dir, 'notes.txt'), 'not a graph');
    assert.deepEqual(await problems([dir]), [
      `${dir}: the directory holds no graph files (.yaml, .yml, .json)\n    hint: subdirectories are not read: name the directory that holds the graph files`,
    ]);
    assert.deepEqual(await problems([join(dir, 'grpahs')]), [
      `${join(dir, 'grpahs')}: no such file or directory\n    hint: check the path`,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a plan too long for its header is valid: it travels by reference (docs/decisions/0056)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-validate-'));
  const sequence = (steps: number) => `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: long }
spec:
  entry: q
  nodes:
    q: { kind: sequence, steps: [${Array.from({ length: steps }, (_, i) => `{ node: m${String(i)} }`).join(', ')}] }
${Array.from({ length: steps }, (_, i) => `    m${String(i)}: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }`).join('\n')}
`;
  try {
    for (const steps of [90, 120, 1_000]) {
      await writeFile(join(dir, 'long.yaml'), sequence(steps));
      assert.deepEqual(await problems([dir]), [], `${String(steps)} steps`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
