import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');

function switchyard(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args],
    { cwd: root, encoding: 'utf8' },
  );
}

test('switchyard graph: DOT and Mermaid on stdout, the golden pictures', () => {
  const golden = join(root, 'test', 'golden', 'pictures', 'out');
  const dot = switchyard('graph', 'examples/fraud-canary.yaml', '--format', 'dot');
  assert.equal(dot.status, 0, dot.stderr);
  assert.equal(dot.stdout, readFileSync(join(golden, 'fraud-canary.dot'), 'utf8'));
  const mermaid = switchyard('graph', 'examples/tiered.yaml', '--format', 'mermaid');
  assert.equal(mermaid.status, 0, mermaid.stderr);
  assert.equal(mermaid.stdout, readFileSync(join(golden, 'tiered.mmd'), 'utf8'));
});

test('switchyard graph: SVG (the default) into --out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-graph-'));
  try {
    const out = join(dir, 'graphs.svg');
    const run = switchyard('graph', 'examples', '--out', out);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '');
    const svg = readFileSync(out, 'utf8');
    assert.match(svg, /<svg /);
    for (const graph of ['fraud', 'scored', 'sentiment', 'tiered'])
      assert.ok(svg.includes(`id="graph:default/${graph}"`), `graph ${graph} is drawn`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('switchyard graph: bad input gets the diagnostics validate prints, exit 1 and no picture', () => {
  const file = 'test/golden/invalid/references.yaml';
  const validate = switchyard('validate', file);
  const graph = switchyard('graph', file, '--format', 'dot');
  assert.equal(graph.status, 1);
  assert.equal(graph.stdout, '');
  assert.equal(graph.stderr, validate.stderr);
  assert.match(graph.stderr, /spec\.entry: the entry node "strat" is not among the nodes/);
  const format = switchyard('graph', 'examples', '--format', 'png');
  assert.notEqual(format.status, 0);
  assert.match(format.stderr, /Allowed choices are svg, dot, mermaid/);
});
