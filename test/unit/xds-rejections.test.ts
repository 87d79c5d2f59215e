import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER, LISTENER, ROUTE, type ResourceTypeUrl } from '../../src/envoy/type-urls.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';
import { Rejections, namedInRefusal } from '../../src/xds/rejections.ts';

test('a CDS refusal names the clusters that failed, as Envoy 1.40 words it', () => {
  const message =
    "Error adding/updating cluster(s) team/a/x: Didn't find a registered cluster factory implementation for name: 'envoy.cluster.strict_dns', team/b/y: bad: really";
  assert.deepEqual(namedInRefusal(CLUSTER, message, ['team/a/x', 'team/b/y', 'team/c/z']), [
    'team/a/x',
    'team/b/y',
  ]);
  assert.deepEqual(namedInRefusal(CLUSTER, message, ['team/a']), [], 'a prefix is no name');
});

test('an LDS refusal names the listeners that failed, one per line', () => {
  const message =
    'Error adding/updating listener(s) switchyard-http: Error: no factory found for a required type URL envoy.extensions.filters.http.json_to_metadata.v3.JsonToMetadata.\nswitchyard-hops: other\n';
  assert.deepEqual(namedInRefusal(LISTENER, message, ['switchyard-http', 'switchyard-hops']), [
    'switchyard-http',
    'switchyard-hops',
  ]);
});

test('other refusals, and decode failures, name nothing', () => {
  assert.deepEqual(
    namedInRefusal(ROUTE, "regex '[a-z]{8}' RE2 program size of 12 > max program size of 5", [
      'switchyard-graphs/a',
    ]),
    [],
  );
  assert.deepEqual(
    namedInRefusal(CLUSTER, 'Proto constraint validation failed (ClusterValidationError.Name)', [
      'team/a/x',
    ]),
    [],
  );
});

test('a rejection is in force while the config still holds the refused version', () => {
  const cache = new SnapshotCache();
  const set = (timeout: string) =>
    new Map<ResourceTypeUrl, Map<string, Record<string, unknown>>>([
      [
        CLUSTER,
        new Map([['team/a/x', { '@type': CLUSTER, name: 'team/a/x', connect_timeout: timeout }]]),
      ],
    ]);
  cache.setSnapshot(DEFAULT_GROUP, set('1s'));
  const version = cache
    .snapshotFor(DEFAULT_GROUP)
    ?.get(CLUSTER)
    ?.resources.get('team/a/x')?.version;
  assert.ok(version);
  const rejections = new Rejections();
  rejections.add({
    typeUrl: CLUSTER,
    name: 'team/a/x',
    version,
    graphs: ['team/a'],
    message: 'no',
    at: '',
  });
  assert.ok(rejections.has(CLUSTER, 'team/a/x', version));
  assert.equal(rejections.inForce(cache.snapshotFor(DEFAULT_GROUP)).length, 1);
  cache.setSnapshot(DEFAULT_GROUP, set('2s'));
  assert.equal(rejections.inForce(cache.snapshotFor(DEFAULT_GROUP)).length, 0);
  assert.ok(rejections.has(CLUSTER, 'team/a/x', version), 'still refused if it comes back');
});
