import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphCompiler } from '../../src/controller/compile.ts';
import { LastGoodGraphs } from '../../src/controller/last-good.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import type { SourceUpdate } from '../../src/sources/source-update.ts';
import { defaultListener } from '../support/listener.ts';

/** The controller's one record of what is served, fed updates as a source sends them. */

const listener = defaultListener();

function lastGood(): LastGoodGraphs {
  const compiler = new GraphCompiler(envoyProtos(), listener);
  return new LastGoodGraphs((graph) => compiler.problemsOf(graph));
}

function document(name: string, nodes: string, settings = ''): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: e
${settings}  nodes:
${nodes}`;
}

const model = (name: string, port = 9001, settings = '') =>
  document(
    name,
    `    e: { kind: model, endpoint: { addresses: ["127.0.0.1:${String(port)}"] } }\n`,
    settings,
  );

/** Valid as a document, refused by the planner: a sticky split cannot route to a transformer. */
const unplannable = (name: string) =>
  document(
    name,
    `    e: { kind: splitter, stickyHeader: x-user, routes: [{ to: t, weight: 1 }, { to: m, weight: 1 }] }
    t: { kind: transformer, to: m, endpoint: { addresses: ["127.0.0.1:9002"] } }
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:9003"] } }
`,
  );

/** A unit's current version, as the directory reports a file it read. */
function file(unit: string, ...texts: string[]): SourceUpdate {
  return { unit, ...loadGraphDocuments(unit, texts.join('---\n')) };
}

const served = (graphs: LastGoodGraphs) => graphs.graphs().map((g) => `${g.name}@${g.source}`);
const codes = (graphs: LastGoodGraphs) =>
  [...graphs.problems()].map(([unit, d]) => `${unit}: ${d.map((x) => x.code).join(',')}`);

test('a version the planner refuses keeps the last good one serving, reported; fixed, it serves again', () => {
  const graphs = lastGood();
  assert.equal(graphs.apply([file('a.yaml', model('x'))]), true);
  const [good] = graphs.graphs();
  assert.equal(graphs.apply([file('a.yaml', unplannable('x'))]), true);
  assert.deepEqual(graphs.graphs(), [good], 'the very object last served');
  assert.deepEqual(codes(graphs), ['a.yaml: unsupported']);
  assert.equal(graphs.apply([file('a.yaml', unplannable('x'))]), false, 'the same problem again');
  graphs.apply([file('a.yaml', model('x', 9009))]);
  assert.deepEqual(served(graphs), ['x@a.yaml']);
  assert.notEqual(graphs.graphs()[0], good);
  assert.deepEqual(codes(graphs), []);
});

test('a unit is served whole or not at all: one graph refused keeps its every graph at the last good version', () => {
  const graphs = lastGood();
  graphs.apply([file('a.yaml', model('x'), model('y', 9002))]);
  const before = graphs.graphs();
  graphs.apply([file('a.yaml', model('x', 9005), unplannable('y'))]);
  assert.deepEqual(graphs.graphs(), before);
  // A new unit with a problem serves nothing.
  graphs.apply([file('b.yaml', model('z'), unplannable('w'))]);
  assert.deepEqual(served(graphs), ['x@a.yaml', 'y@a.yaml']);
  assert.deepEqual(codes(graphs), ['a.yaml: unsupported', 'b.yaml: unsupported']);
});

test('problems the source found keep the last good version serving, as reported', () => {
  const graphs = lastGood();
  graphs.apply([file('a.yaml', model('x'))]);
  graphs.apply([file('a.yaml', model('x').replace('entry: e', 'entry: nowhere'))]);
  assert.deepEqual(served(graphs), ['x@a.yaml']);
  assert.deepEqual(codes(graphs), ['a.yaml: missing-entry']);
  graphs.apply([{ unit: 'a.yaml', removed: true }]);
  assert.deepEqual(served(graphs), []);
  assert.deepEqual(codes(graphs), []);
});

test('a unit left out keeps its last good graphs, and what came with it is checked against them', () => {
  const graphs = lastGood();
  graphs.apply([file('a.yaml', model('x')), file('c.yaml', model('y', 9003))]);
  // In one change a.yaml takes a name c.yaml holds, and b.yaml the name a.yaml still serves.
  graphs.apply([file('a.yaml', model('y', 9001)), file('b.yaml', model('x', 9002))]);
  assert.deepEqual(served(graphs), ['x@a.yaml', 'y@c.yaml']);
  assert.deepEqual(codes(graphs), ['a.yaml: duplicate-name', 'b.yaml: duplicate-name']);
  // c.yaml goes: a.yaml's waiting version takes its name, and frees x for b.yaml.
  graphs.apply([{ unit: 'c.yaml', removed: true }]);
  assert.deepEqual(served(graphs), ['y@a.yaml', 'x@b.yaml']);
  assert.deepEqual(codes(graphs), []);
});
