import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadGraphDocuments } from '../../src/graph/load.ts';

const root = join(import.meta.dirname, '..', '..');
const cases = join(root, 'test', 'golden', 'import', 'cases');

function switchyard(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
}

test('switchyard import: a file per graph in --out, --addresses applied, what is not carried over on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-import-'));
  try {
    const addresses = join(dir, 'addresses.yaml');
    writeFileSync(
      addresses,
      'sklearn-iris: 10.0.0.7:8080\nxgboost-iris: { address: "10.0.0.8:8080", protocol: v2, model: xgb }\n',
    );
    const out = join(dir, 'graphs');
    const run = switchyard(
      'import',
      join(cases, 'kserve-splitter.yaml'),
      join(cases, 'seldon-ab.yaml'),
      '--out',
      out,
      '--addresses',
      addresses,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(readdirSync(out).sort(), [
      'default.example.yaml',
      'default.splitter-model.yaml',
    ]);
    const splitter = readFileSync(join(out, 'default.splitter-model.yaml'), 'utf8');
    const { graphs, diagnostics } = loadGraphDocuments('splitter', splitter);
    assert.deepEqual(diagnostics, []);
    const nodes = graphs[0]?.nodes ?? new Map<string, unknown>();
    assert.deepEqual(nodes.get('sklearn-iris'), {
      kind: 'model',
      endpoint: { addresses: ['10.0.0.7:8080'] },
      protocol: 'v1',
      model: 'sklearn-iris',
    });
    assert.deepEqual(nodes.get('xgboost-iris'), {
      kind: 'model',
      endpoint: { addresses: ['10.0.0.8:8080'] },
      protocol: 'v2',
      model: 'xgb',
    });
    assert.match(
      run.stderr,
      /spec\.nodes\.root\.steps: KServe's router draws a point in \[0, 100\]/,
    );
    assert.match(run.stderr, /unit "classifier" is called "classifier-2"/);
    assert.match(run.stderr, /2 graph\(s\) imported, 0 object\(s\) not/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('switchyard import exits 1 when nothing imports or an object is of another kind, saying why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-import-'));
  try {
    const file = join(dir, 'other.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n---\napiVersion: serving.kserve.io/v1alpha1\nkind: InferenceGraph\nmetadata: { name: g }\nspec:\n  nodes:\n    root:\n      routerType: Sequence\n      steps:\n        - { serviceName: a, condition: "x.#(y==1)" }\n',
    );
    const run = switchyard('import', file);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /not imported: neither a KServe InferenceGraph/);
    assert.match(run.stderr, /steps\[0\]\.condition: not imported: a condition on the first step/);
    assert.equal(run.stdout, '');
    // A graph beside an object of another kind is still written, and the exit says the input is off.
    const mixed = switchyard('import', file, join(cases, 'seldon-single.yaml'));
    assert.equal(mixed.status, 1);
    assert.match(mixed.stdout, /name: seldon-model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
