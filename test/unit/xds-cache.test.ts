import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EnvoyResource, TypeChanges } from '../../src/envoy/resource-set.ts';
import { CLUSTER, ENDPOINT, type ResourceTypeUrl } from '../../src/envoy/type-urls.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';

function set(clusters: Record<string, number>): Map<ResourceTypeUrl, Map<string, EnvoyResource>> {
  const byName = new Map<string, EnvoyResource>(
    Object.entries(clusters).map(([name, timeout]) => [
      name,
      { '@type': CLUSTER, name, connect_timeout: `${String(timeout)}s` },
    ]),
  );
  return new Map<ResourceTypeUrl, Map<string, EnvoyResource>>([
    [CLUSTER, byName],
    [ENDPOINT, new Map<string, EnvoyResource>()],
  ]);
}

test('an identical snapshot changes nothing and notifies nobody', () => {
  const cache = new SnapshotCache();
  let notified = 0;
  cache.watch(() => notified++);
  assert.equal(cache.setSnapshot(DEFAULT_GROUP, set({ a: 1, b: 1 })), true);
  assert.equal(cache.setSnapshot(DEFAULT_GROUP, set({ a: 1, b: 1 })), false);
  assert.equal(notified, 1);
});

test('versions are per resource: an unchanged resource keeps its version', () => {
  const cache = new SnapshotCache();
  cache.setSnapshot(DEFAULT_GROUP, set({ a: 1, b: 1 }));
  const before = cache.snapshotFor(DEFAULT_GROUP)?.get(CLUSTER);
  cache.setSnapshot(DEFAULT_GROUP, set({ a: 1, b: 2 }));
  const after = cache.snapshotFor(DEFAULT_GROUP)?.get(CLUSTER);
  assert.ok(before && after);
  assert.equal(after.resources.get('a'), before.resources.get('a'), 'same object, same version');
  assert.notEqual(after.resources.get('b')?.version, before.resources.get('b')?.version);
  assert.notEqual(after.version, before.version);
  assert.equal(
    cache.snapshotFor(DEFAULT_GROUP)?.get(ENDPOINT),
    cache.snapshotFor(DEFAULT_GROUP)?.get(ENDPOINT),
  );
});

test('the type version is content-derived, whatever the insertion order', () => {
  const one = new SnapshotCache();
  const two = new SnapshotCache();
  one.setSnapshot(DEFAULT_GROUP, set({ a: 1, b: 2 }));
  two.setSnapshot(DEFAULT_GROUP, set({ b: 2, a: 1 }));
  assert.equal(
    one.snapshotFor('x')?.get(CLUSTER)?.version,
    two.snapshotFor('x')?.get(CLUSTER)?.version,
  );
});

test('an Envoy of a group without a snapshot of its own gets the default group’s', () => {
  const cache = new SnapshotCache();
  cache.setSnapshot(DEFAULT_GROUP, set({ a: 1 }));
  cache.setSnapshot('canary', set({ c: 1 }));
  assert.deepEqual([...(cache.snapshotFor('canary')?.get(CLUSTER)?.resources.keys() ?? [])], ['c']);
  assert.deepEqual([...(cache.snapshotFor('other')?.get(CLUSTER)?.resources.keys() ?? [])], ['a']);
});

test('a snapshot versioned from its changes has the versions a full look gives', () => {
  const edited = new SnapshotCache();
  const full = new SnapshotCache();
  const first = set({ a: 1, b: 1, c: 1 });
  edited.setSnapshot(DEFAULT_GROUP, first);
  full.setSnapshot(DEFAULT_GROUP, first);
  const base = first.get(CLUSTER) ?? new Map<string, EnvoyResource>();
  const next = new Map(base);
  next.set('b', { '@type': CLUSTER, name: 'b', connect_timeout: '2s' });
  next.delete('c');
  next.set('d', { '@type': CLUSTER, name: 'd', connect_timeout: '1s' });
  const resources = new Map<ResourceTypeUrl, ReadonlyMap<string, EnvoyResource>>([
    ...first,
    [CLUSTER, next],
  ]);
  const changes = new Map<ResourceTypeUrl, TypeChanges>([
    [CLUSTER, { base, updated: new Set(['b', 'd']), removed: new Set(['c']) }],
  ]);
  assert.equal(edited.setSnapshot(DEFAULT_GROUP, resources, changes), true);
  full.setSnapshot(DEFAULT_GROUP, resources);
  const [a, b] = [edited, full].map((cache) => cache.snapshotFor(DEFAULT_GROUP)?.get(CLUSTER));
  assert.ok(a && b);
  assert.equal(a.version, b.version);
  assert.deepEqual(
    [...a.resources.values()].map((r) => [r.name, r.version]).sort(),
    [...b.resources.values()].map((r) => [r.name, r.version]).sort(),
  );
});
