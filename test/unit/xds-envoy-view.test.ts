import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResourceFacts } from '../../src/envoy/resource-facts.ts';
import { CLUSTER, ROUTE } from '../../src/envoy/type-urls.ts';
import { digestOf, type VersionedResource } from '../../src/xds/cache.ts';
import { EnvoyView } from '../../src/xds/envoy-view.ts';

function resource(name: string, version: string): VersionedResource {
  return { name, version, digest: digestOf(name, version), resource: { name } };
}

/** Route tables need the clusters their version names ("v1>c1,c2"); clusters need nothing. */
function facts(_typeUrl: string, r: VersionedResource): ResourceFacts {
  const clusters = r.version.split('>')[1]?.split(',') ?? [];
  return {
    graphs: [],
    needs: clusters.map((name) => ({ typeUrl: CLUSTER, name, order: 'before' })),
    provides: [],
  };
}

test('a sent version is known only once ACKed; a NACK leaves it in doubt unless refused', () => {
  const view = new EnvoyView(facts).type(CLUSTER);
  const v1 = resource('c', 'v1');
  const v2 = resource('c', 'v2');
  view.sent({ nonce: '1', updated: [v1], removed: [] });
  assert.equal(view.exact('c'), 'unknown');
  assert.equal(view.present('c'), false, 'not before an ACK');
  view.answered({ nonce: '1', updated: [v1], removed: [] }, true, new Set());
  assert.equal(view.exact('c'), v1);
  assert.ok(view.present('c'));

  view.sent({ nonce: '2', updated: [v2], removed: [] });
  view.answered({ nonce: '2', updated: [v2], removed: [] }, false, new Set());
  assert.equal(view.exact('c'), 'unknown', 'Envoy may have applied it');
  assert.ok(view.present('c'), 'present either way');
  assert.deepEqual(
    view.possible('c').map((r) => r.version),
    ['v1', 'v2'],
  );
  assert.equal(view.settled, false);
  view.refused('c', 'v2');
  assert.equal(view.exact('c'), v1, 'a version refused alone was never applied');
  assert.ok(view.settled);
});

test('a refused resource keeps what Envoy had; a removal in doubt may or may not have happened', () => {
  const view = new EnvoyView(facts).type(CLUSTER);
  const a = resource('a', 'v1');
  const b = resource('b', 'v1');
  view.sent({ nonce: '1', updated: [a, b], removed: [] });
  view.answered({ nonce: '1', updated: [a, b], removed: [] }, true, new Set());
  const a2 = resource('a', 'v2');
  view.sent({ nonce: '2', updated: [a2], removed: ['b'] });
  view.answered({ nonce: '2', updated: [a2], removed: ['b'] }, false, new Set(['a']));
  assert.equal(view.exact('a'), a);
  assert.equal(view.present('b'), false);
  assert.ok(view.mayHave('b'));
});

test('what Envoy may run keeps what it needs: a table in doubt needs both versions’ clusters', () => {
  const envoy = new EnvoyView(facts);
  const tables = envoy.type(ROUTE);
  const t1 = resource('t', 'v1>x');
  const t2 = resource('t', 'v2>y');
  tables.sent({ nonce: '1', updated: [t1], removed: [] });
  tables.answered({ nonce: '1', updated: [t1], removed: [] }, true, new Set());
  assert.ok(envoy.isNeeded(CLUSTER, 'x'));
  tables.sent({ nonce: '2', updated: [t2], removed: [] });
  assert.ok(envoy.isNeeded(CLUSTER, 'x') && envoy.isNeeded(CLUSTER, 'y'), 'while unanswered');
  tables.answered({ nonce: '2', updated: [t2], removed: [] }, false, new Set(['t']));
  assert.ok(envoy.isNeeded(CLUSTER, 'x'));
  assert.equal(envoy.isNeeded(CLUSTER, 'y'), false, 'the refused table runs nowhere');
  const t3 = resource('t', 'v3>y');
  tables.sent({ nonce: '3', updated: [t3], removed: [] });
  tables.answered({ nonce: '3', updated: [t3], removed: [] }, true, new Set());
  assert.equal(envoy.isNeeded(CLUSTER, 'x'), false, 'the old table is gone');
  assert.ok(envoy.meets({ typeUrl: ROUTE, name: 't', order: 'before' }));
});

test('responses never answered one by one, a stream’s end, a restart, a reconnect report', () => {
  const view = new EnvoyView(facts).type(CLUSTER);
  const v1 = resource('c', 'v1');
  const v2 = resource('c', 'v2');
  view.sent({ nonce: '1', updated: [v1], removed: [] });
  view.unanswered({ nonce: '1', updated: [v1], removed: [] });
  assert.equal(view.exact('c'), 'unknown');
  view.reported('c', 'v1', undefined);
  assert.equal(view.exact('c'), v1, 'Envoy says it runs a version this process sent');
  view.sent({ nonce: '2', updated: [v2], removed: [] });
  view.abandon();
  assert.deepEqual(
    view.possible('c').map((r) => r.version),
    ['v1', 'v2'],
  );
  view.forget();
  assert.equal(view.mayHave('c'), false, 'a fresh Envoy has nothing');
  assert.equal(view.accepted('c'), v1, 'but what it last ACKed is remembered');
  view.reported('c', 'v9', undefined);
  assert.equal(view.present('c'), false, 'a version of unknown content proves nothing');
  assert.ok(view.mayHave('c'));
});
