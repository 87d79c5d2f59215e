import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import type { EnvoyResource, ResourceSet, TypeChanges } from '../../src/envoy/resource-set.ts';
import { ROUTE, pushOrder, type ResourceTypeUrl } from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { encodeAny } from '../../src/protos/proto-json.ts';
import { AdsServer } from '../../src/xds/ads-server.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';

/**
 * Switchyard's xDS server alone, as the control plane builds it (same cache,
 * same fingerprint), on the resources bench/xds-serving.ts exported: the
 * counterpart of bench/go-xds, speaking its stdin/stdout lines.
 * `changed <ms>` times the cache update (setSnapshot, in this process) to
 * Envoy's ACK of the route response that carries the change.
 * With XDS_SERVING_CPU_PROFILE=<file>, the changes (not the start) are
 * profiled into that .cpuprofile, as node --cpu-prof would write it.
 */
const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: switchyard-server.ts resources.json');
const exported = JSON.parse(readFileSync(file, 'utf8')) as Record<
  string,
  Record<string, EnvoyResource>
>;
const root = envoyProtos();
let resources: ResourceSet = new Map(
  pushOrder.map((typeUrl): [ResourceTypeUrl, Map<string, EnvoyResource>] => [
    typeUrl,
    new Map(Object.entries(exported[typeUrl] ?? {})),
  ]),
);
const cache = new SnapshotCache((resource) => encodeAny(root, resource).value);
cache.setSnapshot(DEFAULT_GROUP, resources);

let handed: number | undefined;
const out = (line: string) => process.stdout.write(`${line}\n`);
const server = new AdsServer(cache, root, {
  events: {
    ack: (_stream, typeUrl) => {
      if (handed !== undefined && typeUrl === ROUTE) {
        out(`changed ${(performance.now() - handed).toFixed(3)}`);
        handed = undefined;
      }
      out(`ack ${typeUrl}`);
    },
    nack: (_stream, typeUrl, _version, message) => {
      out(`nack ${typeUrl} ${message.replaceAll('\n', ' ')}`);
    },
  },
});
out(`listening ${String(await server.start({ host: '127.0.0.1', port: 0 }))}`);

const profileFile = process.env.XDS_SERVING_CPU_PROFILE;
const profiler = profileFile === undefined ? undefined : new Session();
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
}
let profiling = false;

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.startsWith('change ')) return;
  if (profiler && !profiling) {
    profiling = true;
    void profiler.post('Profiler.start');
  }
  const table = JSON.parse(readFileSync(line.slice('change '.length), 'utf8')) as EnvoyResource;
  const name = table.name ?? '';
  // Outside the clock: the compiler hands the cache a new map with the changes named.
  const base = resources.get(ROUTE) ?? new Map<string, EnvoyResource>();
  const routes = new Map(base).set(name, table);
  const next = new Map(resources).set(ROUTE, routes);
  const changes = new Map<ResourceTypeUrl, TypeChanges>([
    [ROUTE, { base, updated: new Set([name]), removed: new Set<string>() }],
  ]);
  handed = performance.now();
  cache.setSnapshot(DEFAULT_GROUP, next, changes);
  resources = next;
});
lines.on('close', () => {
  void (async () => {
    if (profiler && profileFile !== undefined && profiling) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
    }
    await server.stop();
    process.exit(0);
  })();
});
