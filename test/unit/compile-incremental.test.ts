import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileGraphs, GraphCompiler } from '../../src/controller/compile.ts';
import { renderResources } from '../../src/envoy/render.ts';
import type { EnvoyResource } from '../../src/envoy/resource-set.ts';
import {
  CLUSTER,
  ENDPOINT,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  SCOPED_ROUTE,
} from '../../src/envoy/type-urls.ts';
import type { GraphModel } from '../../src/graph/model.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { encodeAny } from '../../src/protos/proto-json.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';
import { defaultListener } from '../support/listener.ts';

const root = envoyProtos();
const listener = defaultListener();

function splitGraph(name: string, weight: number): GraphModel {
  const text = `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: s
  nodes:
    s: { kind: splitter, routes: [{ to: a, weight: ${String(weight)} }, { to: b, weight: 10 }] }
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }
    b: { kind: model, endpoint: { addresses: ["127.0.0.1:9002"] } }
`;
  const [graph] = loadGraphDocuments(`${name}.yaml`, text).graphs;
  assert.ok(graph);
  return graph;
}

const ofGraph = (name: string, graph: string) =>
  name.includes(`/${graph}/`) || name.endsWith(`/${graph}`);

test('a one-graph change translates that graph only: the others’ resources are the same objects', () => {
  const compiler = new GraphCompiler(root, listener);
  const [one, two, three] = ['one', 'two', 'three'].map((name) => splitGraph(name, 90));
  assert.ok(one && two && three);
  const before = compiler.compile([one, two, three]).resources;
  const after = compiler.compile([one, splitGraph('two', 50), three]).resources;
  for (const type of [CLUSTER, ENDPOINT, SCOPED_ROUTE, ROUTE, LISTENER] as const) {
    for (const [name, resource] of before.get(type) ?? []) {
      if (ofGraph(name, 'one') || ofGraph(name, 'three') || type === LISTENER) {
        assert.equal(after.get(type)?.get(name), resource, name);
      }
    }
  }
  const table = 'switchyard-graphs/two';
  assert.ok(before.get(ROUTE)?.has(table));
  assert.notEqual(after.get(ROUTE)?.get(table), before.get(ROUTE)?.get(table));
});

test('a message holding items encoded before encodes to what a fresh encoding decodes to', () => {
  const route = (name: string) => ({
    name,
    match: { path: `/v2/models/${name}/infer` },
    route: { cluster: name, timeout: '2s' },
  });
  const kept = [route('a'), route('b')];
  const table = (routes: object[]): EnvoyResource => ({
    '@type': ROUTE,
    name: 'table',
    virtual_hosts: [{ name: 'any', domains: ['*'], routes }],
  });
  encodeAny(root, table(kept));
  // The same route objects in a new table: their bytes are spliced in, not encoded again.
  const spliced = table([...kept, route('c')]);
  const type = root.lookupType('envoy.config.route.v3.RouteConfiguration');
  const decode = (resource: EnvoyResource) =>
    type.toObject(type.decode(encodeAny(root, resource).value), { longs: Number });
  assert.deepEqual(decode(spliced), decode(structuredClone(spliced)));
  assert.deepEqual(
    (decode(spliced).virtual_hosts as { routes: { name: string }[] }[])[0]?.routes.map(
      (r) => r.name,
    ),
    ['a', 'b', 'c'],
  );
});

test('the snapshot cache fingerprints each resource object once', () => {
  const compiler = new GraphCompiler(root, listener);
  const seen: EnvoyResource[] = [];
  const cache = new SnapshotCache((resource) => {
    seen.push(resource);
    return JSON.stringify(resource);
  });
  const graphs = ['one', 'two'].map((name) => splitGraph(name, 90));
  cache.setSnapshot(DEFAULT_GROUP, compiler.compile(graphs).resources);
  const first = seen.length;
  assert.equal(cache.setSnapshot(DEFAULT_GROUP, compiler.compile(graphs).resources), false);
  // Only what several graphs share (server health, the hop table) is assembled again.
  const again = seen.slice(first).map((r) => String(r.name));
  assert.ok(again.length <= 5, again.join(', '));
  assert.ok(!again.some((name) => ofGraph(name, 'one') || ofGraph(name, 'two')), again.join(', '));
});

/** Deterministic choices, so a failing sequence is the same on every run. */
function choices(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
}

function goldenGraphs(): GraphModel[] {
  const dir = join(import.meta.dirname, '..', 'golden', 'cases');
  const seen = new Set<string>();
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .flatMap((file) => loadGraphDocuments(file, readFileSync(join(dir, file), 'utf8')).graphs)
    .filter((graph) => {
      const id = `${graph.namespace ?? ''}/${graph.name}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
}

test('compiling change after change gives what one compile of the same graphs gives', () => {
  // Executor graphs (hop table), Seldon and V1 (shared keys), V2 health, nesting, plain splits.
  const [onItsOwnHost] = loadGraphDocuments(
    'hosted.yaml',
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: hosted }
spec:
  host: hosted.example.com
  entry: m
  nodes:
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:9003"] } }
`,
  ).graphs;
  assert.ok(onItsOwnHost);
  const pool = [
    ...goldenGraphs(),
    onItsOwnHost,
    ...['s1', 's2', 's3'].map((name) => splitGraph(name, 90)),
  ];
  const pick = choices(7);
  const compiler = new GraphCompiler(root, listener);
  let current = pool.filter(() => pick(2) === 0);
  let before = compiler.compile(current).resources;
  for (let step = 0; step < 60; step++) {
    const graph = pool[pick(pool.length)];
    assert.ok(graph);
    const index = current.findIndex((g) => g.name === graph.name);
    if (graph.name.startsWith('s') && index >= 0 && pick(2) === 0) {
      current = current.with(index, splitGraph(graph.name, 10 + pick(80)));
    } else if (index >= 0) {
      current = current.toSpliced(index, 1);
    } else {
      current = [...current, graph];
    }
    const compiled = compiler.compile(current);
    const fresh = compileGraphs(current, listener, root);
    assert.equal(
      renderResources(compiled.resources),
      renderResources(fresh.resources),
      `step ${String(step)}`,
    );
    for (const [type, after] of compiled.resources) {
      const changes = compiled.changes.get(type);
      const old = before.get(type) ?? new Map<string, EnvoyResource>();
      if (!changes) {
        assert.equal(after, old, `step ${String(step)}: ${type} unchanged, same map`);
        continue;
      }
      assert.equal(changes.base, old);
      for (const [name, resource] of after) {
        assert.equal(changes.updated.has(name), old.get(name) !== resource, `${type} ${name}`);
      }
      for (const name of old.keys()) assert.equal(changes.removed.has(name), !after.has(name));
    }
    before = compiled.resources;
  }
});

test('a weight change replaces one route table and nothing else', () => {
  const compiler = new GraphCompiler(root, listener);
  const graphs = ['one', 'two'].map((name) => splitGraph(name, 90));
  compiler.compile(graphs);
  for (const weight of [50, 60]) {
    const { changes } = compiler.compile([graphs[0] as GraphModel, splitGraph('two', weight)]);
    assert.deepEqual(
      [...changes].map(([type, c]) => [type, [...c.updated], [...c.removed]]),
      [[ROUTE, ['switchyard-graphs/two'], []]],
    );
  }
});

test('the body values read travel by ECDS: the listener changes only when the first graph reads a body, or the last stops', () => {
  const bodySwitch = (name: string, path: string) => {
    const [graph] = loadGraphDocuments(
      `${name}.yaml`,
      `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: w
  nodes:
    w: { kind: switch, cases: [{ when: { body: "${path}", equals: x }, to: a }], default: a }
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }
`,
    ).graphs;
    assert.ok(graph);
    return graph;
  };
  const compiler = new GraphCompiler(root, listener);
  const changed = (graphs: GraphModel[]) => {
    const { changes } = compiler.compile(graphs);
    return ([LISTENER, EXTENSION_CONFIG] as const)
      .filter((type) => changes.has(type))
      .map((type) => (type === LISTENER ? 'listener' : 'body filter'))
      .join();
  };
  const [one, two, other] = [
    bodySwitch('one', '$.tier'),
    bodySwitch('two', "$['tier']"),
    bodySwitch('other', '$.region'),
  ] as [GraphModel, GraphModel, GraphModel];
  compiler.compile([]);
  assert.equal(changed([one]), 'listener,body filter', 'the first graph to read a body');
  assert.equal(changed([one, two]), '', 'the same value, spelled another way');
  assert.equal(changed([two]), '', 'another graph still reads it');
  assert.equal(changed([two, other]), 'body filter', 'a new value');
  assert.equal(changed([two, bodySwitch('other', '$.region')]), '', 'an edit');
  assert.equal(changed([splitGraph('two', 1)]), 'listener,body filter', 'no graph reads a body');
});
