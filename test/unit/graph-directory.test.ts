import assert from 'node:assert/strict';
import {
  closeSync,
  mkdtempSync,
  openSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LastGoodGraphs } from '../../src/controller/last-good.ts';
import type { GraphModel } from '../../src/graph/model.ts';
import { GraphDirectory } from '../../src/sources/graph-directory.ts';
import type { Diagnostic } from '../../src/spec/diagnostic.ts';

/**
 * A watched directory as the controller takes it: the directory reports
 * each file's current state, and the controller's last-good stage decides
 * what is served (no compile checks here: those have tests of their own).
 */
interface Served {
  readonly graphs: readonly GraphModel[];
  readonly problems: ReadonlyMap<string, readonly Diagnostic[]>;
}

function model(name: string, port: number): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: m
  nodes:
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:${String(port)}"] } }
`;
}

function nesting(name: string, target: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: s
  nodes:
    s: { kind: sequence, steps: [{ node: m }, { node: g }] }
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:9100"] } }
    g: { kind: graph, graph: ${target} }
`;
}

/** A watched directory, and what is served after each change it reports, in order. */
async function watched(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-directory-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const snapshots: Served[] = [];
  const lastGood = new LastGoodGraphs(() => []);
  let wake: (() => void) | undefined;
  const directory = new GraphDirectory(dir, (updates) => {
    lastGood.apply(updates);
    snapshots.push({ graphs: lastGood.graphs(), problems: lastGood.problems() });
    wake?.();
  });
  await directory.start();
  /** Changes the directory, then waits (at most 5 s) for what is served after it. */
  const after = async (change: () => void): Promise<Served> => {
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no snapshot within 5 s'));
      }, 5000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    change();
    await arrived;
    const latest = snapshots.at(-1);
    assert.ok(latest);
    return latest;
  };
  return {
    dir,
    snapshots,
    first: snapshots[0],
    write: (name: string, text: string) =>
      after(() => {
        writeFileSync(join(dir, name), text);
      }),
    remove: (name: string) =>
      after(() => {
        unlinkSync(join(dir, name));
      }),
    /** One file goes and another comes, in the same batch. */
    replace: (gone: string, name: string, text: string) =>
      after(() => {
        unlinkSync(join(dir, gone));
        writeFileSync(join(dir, name), text);
      }),
    stop: () => {
      directory.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const served = (snapshot: Served) =>
  snapshot.graphs.map((g) => `${g.name}@${g.source.split('/').pop() ?? ''}`);
const codes = (snapshot: Served) =>
  [...snapshot.problems].map(
    ([source, d]) => `${source.split('/').pop() ?? ''}: ${d.map((x) => x.code).join(',')}`,
  );

test('a graph claimed twice stays with the file that had it, until that file goes', async () => {
  const directory = await watched({ 'a.yaml': model('x', 9001) });
  try {
    assert.ok(directory.first);
    assert.deepEqual(served(directory.first), ['x@a.yaml']);
    const claimed = await directory.write('b.yaml', model('x', 9002));
    assert.deepEqual(served(claimed), ['x@a.yaml']);
    assert.deepEqual(codes(claimed), ['b.yaml: duplicate-name']);
    const other = await directory.write('c.yaml', model('y', 9003));
    assert.deepEqual(served(other), ['x@a.yaml', 'y@c.yaml']);
    assert.deepEqual(codes(other), ['b.yaml: duplicate-name']);
    const handedOver = await directory.remove('a.yaml');
    assert.deepEqual(served(handedOver), ['x@b.yaml', 'y@c.yaml']);
    assert.deepEqual(codes(handedOver), []);
    const renamed = await directory.write('b.yaml', model('z', 9002));
    assert.deepEqual(served(renamed), ['z@b.yaml', 'y@c.yaml']);
    const free = await directory.write('d.yaml', model('x', 9004));
    assert.deepEqual(served(free), ['z@b.yaml', 'y@c.yaml', 'x@d.yaml']);
  } finally {
    directory.stop();
  }
});

test('with nesting graphs served, a change is checked against every graph', async () => {
  const directory = await watched({ 'a.yaml': model('x', 9001), 'n.yaml': nesting('n', 'x') });
  try {
    assert.ok(directory.first);
    assert.deepEqual(served(directory.first), ['x@a.yaml', 'n@n.yaml']);
    const claimed = await directory.write('b.yaml', model('n', 9002));
    assert.deepEqual(codes(claimed), ['b.yaml: duplicate-name']);
    const dangling = await directory.write('m.yaml', nesting('m', 'missing'));
    assert.deepEqual(codes(dangling), ['b.yaml: duplicate-name', 'm.yaml: dangling-reference']);
    const fixed = await directory.write('m.yaml', nesting('m', 'x'));
    assert.deepEqual(served(fixed), ['x@a.yaml', 'm@m.yaml', 'n@n.yaml']);
  } finally {
    directory.stop();
  }
});

test('a graph whose nested graph goes away keeps serving, with the problem reported', async () => {
  const directory = await watched({ 'a.yaml': model('x', 9001), 'n.yaml': nesting('n', 'x') });
  try {
    const gone = await directory.remove('a.yaml');
    assert.deepEqual(served(gone), ['n@n.yaml']);
    assert.deepEqual(codes(gone), ['n.yaml: dangling-reference']);
    const back = await directory.write('a.yaml', model('x', 9001));
    assert.deepEqual(served(back), ['x@a.yaml', 'n@n.yaml']);
    assert.deepEqual(codes(back), []);
    const renamed = await directory.write('a.yaml', model('y', 9001));
    assert.deepEqual(served(renamed), ['y@a.yaml', 'n@n.yaml']);
    assert.deepEqual(codes(renamed), ['n.yaml: dangling-reference']);
  } finally {
    directory.stop();
  }
});

test('a file that goes while another comes, in one batch, is replaced in what is served', async () => {
  const directory = await watched({ 'a.yaml': model('x', 9001) });
  try {
    const replaced = await directory.replace('a.yaml', 'b.yaml', model('y', 9002));
    assert.deepEqual(served(replaced), ['y@b.yaml']);
  } finally {
    directory.stop();
  }
});

test('a file written in place, slowly and in pieces, is never rejected on the way', async () => {
  const directory = await watched({ 'a.yaml': model('x', 9001) });
  try {
    const text = model('x', 9002);
    const pieces = 6;
    const size = Math.ceil(text.length / pieces);
    // As an editor saving in place: the file is truncated first, then written a piece at a time.
    const fd = openSync(join(directory.dir, 'a.yaml'), 'w');
    for (let at = 0; at < text.length; at += size) {
      writeSync(fd, text.slice(at, at + size));
      await sleep(40);
    }
    closeSync(fd);
    const endpoint = (snapshot: Served) => JSON.stringify(snapshot.graphs[0]?.nodes.get('m'));
    for (let waited = 0; waited < 5000; waited += 20) {
      if (directory.snapshots.some((s) => endpoint(s).includes('9002'))) break;
      await sleep(20);
    }
    assert.ok(
      directory.snapshots.some((s) => endpoint(s).includes('9002')),
      'the new version is served',
    );
    for (const snapshot of directory.snapshots) {
      assert.deepEqual(codes(snapshot), [], 'no snapshot reported the half-written file');
      assert.deepEqual(served(snapshot), ['x@a.yaml']);
    }
  } finally {
    directory.stop();
  }
});

test('a write that stays broken is reported once it has settled, and the last good version serves', async () => {
  const directory = await watched({ 'a.yaml': model('x', 9001) });
  try {
    const broken = await directory.write(
      'a.yaml',
      model('x', 9002).replace('kind: model', 'kind: modle'),
    );
    assert.deepEqual(codes(broken), ['a.yaml: invalid-value']);
    assert.deepEqual(served(broken), ['x@a.yaml']);
  } finally {
    directory.stop();
  }
});
