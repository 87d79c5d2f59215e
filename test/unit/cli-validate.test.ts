import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateCommand } from '../../src/cli/validate.ts';

const listener = {
  address: '127.0.0.1',
  port: 10000,
  hopPort: 10001,
  executor: { address: '127.0.0.1', port: 18081, workers: 1 },
};

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

test('validate refuses what the compiler refuses, not only what the spec schema does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-validate-'));
  try {
    const file = join(dir, 'sticky.yaml');
    writeFileSync(file, stickySplit('b'));
    assert.equal(await validateCommand([dir], listener), 0);
    // A sticky split over a transformer is a valid document, but no plan can route it.
    writeFileSync(file, stickySplit('t'));
    assert.equal(await validateCommand([dir], listener), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** validateCommand's exit code and what it wrote to stderr. */
async function validateOutput(paths: string[]): Promise<{ code: number; output: string }> {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  try {
    const code = await validateCommand(paths, listener);
    return { code, output: written.join('') };
  } finally {
    process.stderr.write = write;
  }
}

test('an empty, mistyped or missing path is an error, never "0 graph(s) valid"', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-validate-'));
  try {
    assert.deepEqual(await validateOutput([dir]), {
      code: 1,
      output: `${dir}: the directory holds no graph files (.yaml, .yml, .json)\n    hint: check the path\n1 problem(s) found\n`,
    });
    mkdirSync(join(dir, 'graphs'));
    writeFileSync(join(dir, 'notes.txt'), 'not a graph');
    assert.deepEqual(await validateOutput([dir]), {
      code: 1,
      output: `${dir}: the directory holds no graph files (.yaml, .yml, .json)\n    hint: subdirectories are not read: name the directory that holds the graph files\n1 problem(s) found\n`,
    });
    assert.deepEqual(await validateOutput([join(dir, 'grpahs')]), {
      code: 1,
      output: `${join(dir, 'grpahs')}: no such file or directory\n    hint: check the path\n1 problem(s) found\n`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plan too long for its header is reported as the spec limit, not as a bug to report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-validate-'));
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
    writeFileSync(join(dir, 'long.yaml'), sequence(90));
    assert.equal((await validateOutput([dir])).code, 0);
    writeFileSync(join(dir, 'long.yaml'), sequence(120));
    const { code, output } = await validateOutput([dir]);
    assert.equal(code, 1);
    assert.match(
      output,
      /long\.yaml: spec\.nodes\.q: the executor's plan for "q" and the nodes below it is \d+ bytes; Envoy carries it in the x-switchyard-plan header, which holds at most 16384\n {4}hint: every node the executor runs from here, every sequence step and case adds to it: move part of the graph into a graph of its own, called by a node of kind graph \(each graph carries its own plan\)\n1 problem\(s\) found\n$/,
    );
    assert.doesNotMatch(output, /please report/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
