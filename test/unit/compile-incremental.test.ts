import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphCompiler } from '../../src/envoy/compile.ts';
import { CLUSTER, ENDPOINT, ROUTE } from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { encodeAny } from '../../src/protos/proto-json.ts';
import { loadGraphDocuments } from '../../src/spec/load.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';
import type { GraphModel } from '../../src/graph/model.ts';

const root = envoyProtos();
const listener = {
  address: '127.0.0.1',
  port: 10000,
  hopPort: 10001,
  executor: { address: '127.0.0.1', port: 18081 },
};

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

test('a one-graph change translates that graph only: the others’ resources are the same objects', () => {
  const compiler = new GraphCompiler(root, listener);
  const graphs = ['one', 'two', 'three'].map((name) => splitGraph(name, 90));
  const before = compiler.compile(graphs).resources;
  const after = compiler.compile(
    [graphs[0], splitGraph('two', 50), graphs[2]].flatMap((g) => g ?? []),
  ).resources;
  for (const type of [CLUSTER, ENDPOINT] as const) {
    for (const [name, resource] of before.get(type) ?? []) {
      if (!name.includes('/two/')) assert.equal(after.get(type)?.get(name), resource, name);
    }
  }
  const routesOf = (set: typeof before) =>
    (set.get(ROUTE)?.get('switchyard-graphs')?.virtual_hosts as { routes: { name: string }[] }[])[0]
      ?.routes ?? [];
  const unchanged = routesOf(before).filter((r) => r.name.startsWith('default/one/'));
  assert.ok(unchanged.length > 0);
  for (const route of unchanged) assert.ok(routesOf(after).includes(route), route.name);
  const changed = routesOf(before).filter((r) => r.name.startsWith('default/two/'));
  for (const route of changed) assert.ok(!routesOf(after).includes(route), route.name);
});

test('a table assembled from routes encoded before encodes to what a fresh encoding decodes to', () => {
  const compiler = new GraphCompiler(root, listener);
  const graphs = ['one', 'two'].map((name) => splitGraph(name, 90));
  const first = compiler.compile(graphs).resources.get(ROUTE)?.get('switchyard-graphs');
  assert.ok(first);
  encodeAny(root, first);
  // The same routes in a new table: spliced from the bytes encoded above.
  const second = compiler.compile([...graphs, splitGraph('three', 70)]).resources.get(ROUTE);
  const table = second?.get('switchyard-graphs');
  assert.ok(table);
  const type = root.lookupType('envoy.config.route.v3.RouteConfiguration');
  const spliced = type.toObject(type.decode(encodeAny(root, table).value), { longs: Number });
  const fresh = type.toObject(type.decode(encodeAny(root, structuredClone(table)).value), {
    longs: Number,
  });
  assert.deepEqual(spliced, fresh);
  const routes = (spliced.virtual_hosts as { routes: { name: string }[] }[])[0]?.routes ?? [];
  assert.ok(routes.some((r) => r.name.startsWith('default/three/')));
  assert.ok(routes.some((r) => r.name.startsWith('default/one/')));
});

test('the snapshot cache fingerprints each resource object once', () => {
  const compiler = new GraphCompiler(root, listener);
  const seen: unknown[] = [];
  const cache = new SnapshotCache((resource) => {
    seen.push(resource);
    return JSON.stringify(resource);
  });
  const graphs = ['one', 'two'].map((name) => splitGraph(name, 90));
  cache.setSnapshot(DEFAULT_GROUP, compiler.compile(graphs).resources);
  const first = seen.length;
  assert.equal(cache.setSnapshot(DEFAULT_GROUP, compiler.compile(graphs).resources), false);
  // Only the tables that list every graph are new objects; every cluster and endpoint is known.
  const again = seen.slice(first) as { '@type': string }[];
  assert.ok(
    again.every((resource) => resource['@type'] === ROUTE),
    JSON.stringify(again),
  );
});
