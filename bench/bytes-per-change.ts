import { GraphCompiler } from '../src/controller/compile.ts';
import { pushOrder, ROUTE } from '../src/envoy/type-urls.ts';
import { envoyProtos } from '../src/protos/envoy-protos.ts';
import { loadGraphDocuments } from '../src/graph/load.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../src/xds/cache.ts';
import { DiscoveryCodec } from '../src/xds/discovery-codec.ts';
import { countArgument } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';
import { defaultListener } from '../test/support/listener.ts';

/**
 * Bytes on the wire for one weight change with N graphs loaded: what a
 * state-of-the-world stream sends (every resource of each changed type, but
 * only the changed route tables) and what a delta stream sends (the changed
 * resources only), encoded exactly as the server encodes them.
 * `npx tsx bench/bytes-per-change.ts 1000 10000`
 */
const sizes = process.argv.slice(2).map((size) => countArgument('graph count', size));
const root = envoyProtos();
const codec = new DiscoveryCodec(root);
const rows: Record<string, string | number>[] = [];

for (const size of sizes.length > 0 ? sizes : [1000, 10000]) {
  const graphs = Array.from(
    { length: size },
    (_, i) => loadGraphDocuments(`g${String(i)}`, generatedGraph(i)).graphs,
  );
  const compiler = new GraphCompiler(root, defaultListener());
  const cache = new SnapshotCache();
  cache.setSnapshot(DEFAULT_GROUP, compiler.compile(graphs.flat()).resources);
  const before = cache.snapshotFor(DEFAULT_GROUP);
  graphs[1] = loadGraphDocuments(
    'g1',
    generatedGraph(1).replace('weight: 90', 'weight: 80'),
  ).graphs;
  cache.setSnapshot(DEFAULT_GROUP, compiler.compile(graphs.flat()).resources);
  const after = cache.snapshotFor(DEFAULT_GROUP);
  let sotw = 0;
  let delta = 0;
  let changedResources = 0;
  for (const typeUrl of pushOrder) {
    const old = before?.get(typeUrl);
    const now = after?.get(typeUrl);
    if (!now || old?.version === now.version) continue;
    const all = [...now.resources.values()];
    const changed = all.filter((r) => old?.resources.get(r.name)?.version !== r.version);
    changedResources += changed.length;
    sotw += codec.sotw.encodeResponse({
      version_info: now.version,
      resources: (typeUrl === ROUTE ? changed : all).map((r) => codec.any(r)),
      type_url: typeUrl,
      nonce: '1',
    }).length;
    delta += codec.delta.encodeResponse({
      system_version_info: now.version,
      resources: changed.map((r) => ({ name: r.name, version: r.version, resource: codec.any(r) })),
      type_url: typeUrl,
      removed_resources: [],
      nonce: '1',
    }).length;
  }
  rows.push({
    graphs: size,
    'changed resources': changedResources,
    'SotW bytes': sotw,
    'delta bytes': delta,
  });
}

writeResults(
  'bytes-per-change',
  rows,
  '# Bytes on the wire for one weight change\n\nEach graph has route tables of its own (scoped RDS), so a weight change changes one small table; state of the world sends route tables that changed only, like delta. `npx tsx bench/bytes-per-change.ts 1000 10000`.',
);
