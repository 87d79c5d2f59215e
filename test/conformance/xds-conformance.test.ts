import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { EnvoyResource, TypeChanges } from '../../src/envoy/resource-set.ts';
import { BODY_FILTER, bodyFieldsResource } from '../../src/envoy/body-fields.ts';
import {
  CLUSTER,
  ENDPOINT,
  EXTENSION_CONFIG,
  ROUTE,
  type ResourceTypeUrl,
} from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { AdsServer } from '../../src/xds/ads-server.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';
import { deltaClient, sotwClient } from '../support/xds-client.ts';

/**
 * xDS protocol conformance, with a raw client that sends exactly what each
 * case needs. `conformance(target)` runs against any ADS server given its
 * address and a way to change its config; this file runs it against ours.
 */
export interface Target {
  readonly address: string;
  /** Sets the server's clusters (EDS) with their endpoint ports. */
  readonly setClusters: (clusters: Record<string, number>) => void;
}

const root = envoyProtos();
// The server remembers each node id (what it refused, what it ran): each test is an Envoy of its own.
let node = { id: 'conformance', cluster: 'switchyard' };
let nodes = 0;
beforeEach(() => {
  nodes += 1;
  node = { id: `conformance-${String(nodes)}`, cluster: 'switchyard' };
});
const eds = { ads: {}, resource_api_version: 'V3' };

function resources(
  clusters: Record<string, number>,
): Map<ResourceTypeUrl, Map<string, EnvoyResource>> {
  const entries = Object.entries(clusters);
  return new Map<ResourceTypeUrl, Map<string, EnvoyResource>>([
    [
      CLUSTER,
      new Map(
        entries.map(([name]) => [
          name,
          {
            '@type': CLUSTER,
            name,
            type: 'EDS',
            eds_cluster_config: { eds_config: eds },
            connect_timeout: '1s',
          },
        ]),
      ),
    ],
    [
      ENDPOINT,
      new Map(
        entries.map(([name, port]) => [
          name,
          {
            '@type': ENDPOINT,
            cluster_name: name,
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: { socket_address: { address: '127.0.0.1', port_value: port } },
                    },
                  },
                ],
              },
            ],
          },
        ]),
      ),
    ],
  ]);
}

/** Resource names in an Any list, decoded just enough to read `name`/`cluster_name`. */
function names(anys: readonly { type_url: string; value: Uint8Array }[]): string[] {
  return anys.map((any) => {
    const type = root.lookupType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1));
    const decoded = type.toObject(type.decode(any.value)) as {
      name?: string;
      cluster_name?: string;
    };
    return decoded.name ?? decoded.cluster_name ?? '';
  });
}

const request = (
  type_url: string,
  extra: Partial<{
    resource_names: string[];
    response_nonce: string;
    version_info: string;
    error_detail: { code: number; message: string };
  }> = {},
) => ({
  node,
  type_url,
  resource_names: [],
  response_nonce: '',
  version_info: '',
  ...extra,
});

const deltaRequest = (
  type_url: string,
  extra: Partial<{
    resource_names_subscribe: string[];
    resource_names_unsubscribe: string[];
    initial_resource_versions: Record<string, string>;
    response_nonce: string;
    error_detail: { code: number; message: string };
  }> = {},
) => ({
  node,
  type_url,
  resource_names_subscribe: [],
  resource_names_unsubscribe: [],
  initial_resource_versions: {},
  response_nonce: '',
  ...extra,
});

export function conformance(target: () => Target): void {
  describe('state of the world', () => {
    test('a wildcard request gets every resource, each once; an ACK gets nothing more', async () => {
      target().setClusters({ c1: 1001, c2: 1002 });
      const client = sotwClient(root, target().address);
      try {
        client.send(request(CLUSTER));
        const response = await client.next();
        assert.ok(response && response.nonce !== '' && response.version_info !== '');
        assert.deepEqual(names(response.resources).sort(), ['c1', 'c2']);
        client.send(
          request(CLUSTER, { response_nonce: response.nonce, version_info: response.version_info }),
        );
        assert.equal(await client.next(400), undefined, 'an ACK is not answered');
      } finally {
        client.close();
      }
    });

    test('a NACK is not answered by resending the rejected config', async () => {
      target().setClusters({ c1: 1001 });
      const client = sotwClient(root, target().address);
      try {
        client.send(request(CLUSTER));
        const response = await client.next();
        assert.ok(response);
        client.send(
          request(CLUSTER, {
            response_nonce: response.nonce,
            error_detail: { code: 3, message: 'rejected on purpose' },
          }),
        );
        assert.equal(await client.next(600), undefined);
        target().setClusters({ c1: 1009 });
        const clusters = await client.next();
        assert.equal(clusters, undefined, 'clusters did not change, only endpoints');
      } finally {
        client.close();
      }
    });

    test('a request with a stale nonce still carries its subscription change', async () => {
      target().setClusters({ c1: 1001, c2: 1002 });
      const client = sotwClient(root, target().address);
      try {
        client.send(request(ENDPOINT, { resource_names: ['c1'] }));
        const first = await client.next();
        assert.ok(first);
        assert.deepEqual(names(first.resources), ['c1']);
        client.send(request(ENDPOINT, { resource_names: ['c1', 'c2'], response_nonce: 'stale' }));
        const second = await client.next();
        assert.ok(second);
        assert.deepEqual(names(second.resources).sort(), ['c1', 'c2']);
      } finally {
        client.close();
      }
    });

    test('names requested before they exist are pushed when they appear; removals too', async () => {
      target().setClusters({ c1: 1001 });
      const client = sotwClient(root, target().address);
      try {
        client.send(request(ENDPOINT, { resource_names: ['c1', 'later'] }));
        const first = await client.next();
        assert.ok(first);
        assert.deepEqual(names(first.resources), ['c1']);
        client.send(
          request(ENDPOINT, { resource_names: ['c1', 'later'], response_nonce: first.nonce }),
        );
        target().setClusters({ c1: 1001, later: 1003 });
        const second = await client.next();
        assert.ok(second);
        assert.deepEqual(names(second.resources).sort(), ['c1', 'later']);
        client.send(
          request(ENDPOINT, { resource_names: ['c1', 'later'], response_nonce: second.nonce }),
        );
        target().setClusters({ later: 1003 });
        const third = await client.next();
        assert.ok(third);
        assert.deepEqual(names(third.resources), ['later']);
      } finally {
        client.close();
      }
    });

    test('a client that never answers does not hold up another', async () => {
      target().setClusters({ c1: 1001 });
      const stuck = sotwClient(root, target().address);
      const healthy = sotwClient(root, target().address);
      try {
        stuck.send(request(CLUSTER));
        healthy.send(request(CLUSTER));
        const first = await healthy.next();
        assert.ok(first);
        healthy.send(
          request(CLUSTER, { response_nonce: first.nonce, version_info: first.version_info }),
        );
        target().setClusters({ c1: 1001, c2: 1002 });
        const second = await healthy.next();
        assert.ok(second, 'the healthy client got the change');
        assert.deepEqual(names(second.resources).sort(), ['c1', 'c2']);
      } finally {
        stuck.close();
        healthy.close();
      }
    });
  });

  describe('incremental (delta)', () => {
    test('wildcard subscription, then only what changed, and removals by name', async () => {
      target().setClusters({ c1: 1001, c2: 1002 });
      const client = deltaClient(root, target().address);
      try {
        client.send(deltaRequest(CLUSTER));
        const first = await client.next();
        assert.ok(first);
        assert.deepEqual(first.resources.map((r) => r.name).sort(), ['c1', 'c2']);
        client.send(deltaRequest(CLUSTER, { response_nonce: first.nonce }));
        assert.equal(await client.next(400), undefined, 'an ACK is not answered');
        target().setClusters({ c1: 1001 });
        const second = await client.next();
        assert.ok(second);
        assert.deepEqual(second.resources, []);
        assert.deepEqual(second.removed_resources, ['c2']);
      } finally {
        client.close();
      }
    });

    test('initial_resource_versions on reconnect: what Envoy has is not resent', async () => {
      target().setClusters({ c1: 1001, c2: 1002 });
      const first = deltaClient(root, target().address);
      const had: Record<string, string> = {};
      try {
        first.send(deltaRequest(CLUSTER));
        const response = await first.next();
        assert.ok(response);
        for (const r of response.resources) had[r.name] = r.version;
      } finally {
        first.close();
      }
      const again = deltaClient(root, target().address);
      try {
        again.send(deltaRequest(CLUSTER, { initial_resource_versions: had }));
        assert.equal(await again.next(500), undefined);
      } finally {
        again.close();
      }
    });

    test('phantom unsubscribes are ignored; a re-subscribe is answered', async () => {
      target().setClusters({ c1: 1001 });
      const client = deltaClient(root, target().address);
      try {
        client.send(deltaRequest(ENDPOINT, { resource_names_subscribe: ['c1'] }));
        const first = await client.next();
        assert.ok(first);
        assert.deepEqual(
          first.resources.map((r) => r.name),
          ['c1'],
        );
        client.send(
          deltaRequest(ENDPOINT, {
            response_nonce: first.nonce,
            resource_names_unsubscribe: ['never'],
          }),
        );
        assert.equal(await client.next(400), undefined, 'a phantom unsubscribe changes nothing');
        client.send(deltaRequest(ENDPOINT, { resource_names_unsubscribe: ['c1'] }));
        assert.equal(await client.next(400), undefined);
        client.send(deltaRequest(ENDPOINT, { resource_names_subscribe: ['c1'] }));
        const again = await client.next();
        assert.ok(again);
        assert.deepEqual(
          again.resources.map((r) => r.name),
          ['c1'],
        );
      } finally {
        client.close();
      }
    });
  });
}

/** Our ADS server on a free loopback port for the enclosing suite, with the cache it serves. */
function servedCache(): { cache: SnapshotCache; address: () => string } {
  const cache = new SnapshotCache();
  const server = new AdsServer(cache, root);
  let address = '';
  before(async () => {
    address = `127.0.0.1:${String(await server.start({ host: '127.0.0.1', port: 0 }))}`;
  });
  after(async () => {
    await server.stop();
  });
  return { cache, address: () => address };
}

describe('xDS conformance: Switchyard’s ADS server', () => {
  const { cache, address } = servedCache();
  conformance(() => ({
    address: address(),
    setClusters: (clusters) => {
      cache.setSnapshot(DEFAULT_GROUP, resources(clusters));
    },
  }));
});

describe('Switchyard’s ADS server, beyond the protocol’s minimum', () => {
  const { cache, address } = servedCache();

  // Tables that answer by themselves: a table that routes to a cluster waits for it.
  const tables = (answers: Record<string, string>) =>
    new Map<ResourceTypeUrl, Map<string, EnvoyResource>>([
      [
        ROUTE,
        new Map(
          Object.entries(answers).map(([name, answer]) => [
            name,
            {
              '@type': ROUTE,
              name,
              virtual_hosts: [
                {
                  name: 'any',
                  domains: ['*'],
                  routes: [
                    {
                      match: { prefix: '/' },
                      direct_response: { status: 200, body: { inline_string: answer } },
                    },
                  ],
                },
              ],
            },
          ]),
        ),
      ],
    ]);

  test('state of the world: a route response carries only the tables that changed', async () => {
    cache.setSnapshot(DEFAULT_GROUP, tables({ a: '1s', b: '1s', c: '1s' }));
    const client = sotwClient(root, address());
    try {
      const subscribe = { resource_names: ['a', 'b', 'c'] };
      client.send(request(ROUTE, subscribe));
      const first = await client.next();
      assert.ok(first);
      assert.deepEqual(names(first.resources).sort(), ['a', 'b', 'c']);
      client.send(request(ROUTE, { ...subscribe, response_nonce: first.nonce }));
      cache.setSnapshot(DEFAULT_GROUP, tables({ a: '1s', b: '2s', c: '1s' }));
      const second = await client.next();
      assert.ok(second);
      assert.deepEqual(names(second.resources), ['b']);
      assert.notEqual(second.version_info, first.version_info);
      // Let go of a table (nothing to say to that) and ask again: it comes back.
      client.send(request(ROUTE, { resource_names: ['a', 'b'], response_nonce: second.nonce }));
      assert.equal(await client.next(300), undefined);
      client.send(request(ROUTE, { ...subscribe, response_nonce: second.nonce }));
      const third = await client.next();
      assert.ok(third);
      assert.deepEqual(names(third.resources), ['c']);
    } finally {
      client.close();
    }
  });

  test('delta: a change the cache was told of goes out as just that change, versioned as a full look would', async () => {
    const first = tables({ a: '1s', b: '1s', c: '1s' });
    cache.setSnapshot(DEFAULT_GROUP, first);
    const subscribe = { resource_names_subscribe: ['a', 'b', 'c'] };
    const known = deltaClient(root, address());
    try {
      known.send(deltaRequest(ROUTE, subscribe));
      const initial = await known.next();
      assert.ok(initial);
      known.send(deltaRequest(ROUTE, { response_nonce: initial.nonce }));
      const base = first.get(ROUTE) ?? new Map<string, EnvoyResource>();
      const next = new Map(tables({ a: '1s', b: '2s' }).get(ROUTE));
      const changes = new Map<ResourceTypeUrl, TypeChanges>([
        [ROUTE, { base, updated: new Set(['b']), removed: new Set(['c']) }],
      ]);
      cache.setSnapshot(DEFAULT_GROUP, new Map([[ROUTE, next]]), changes);
      assert.ok(cache.snapshotFor(DEFAULT_GROUP)?.get(ROUTE)?.delta, 'versioned from its changes');
      const changed = await known.next();
      assert.ok(changed);
      assert.deepEqual(names(changed.resources.map((r) => r.resource)), ['b']);
      assert.deepEqual(changed.removed_resources, ['c']);
      // A fresh Envoy gets the same state the long way: the versions agree.
      const fresh = deltaClient(root, address());
      try {
        fresh.send(deltaRequest(ROUTE, subscribe));
        const whole = await fresh.next();
        assert.ok(whole);
        assert.deepEqual(names(whole.resources.map((r) => r.resource)).sort(), ['a', 'b']);
        assert.equal(whole.system_version_info, changed.system_version_info);
        assert.equal(
          changed.system_version_info,
          cache.snapshotFor(DEFAULT_GROUP)?.get(ROUTE)?.version,
        );
      } finally {
        fresh.close();
      }
    } finally {
      known.close();
    }
  });

  test('a new body value reaches Envoy (ECDS) and is answered before the route tables that test it', async () => {
    const config = (paths: string[], timeout: string) =>
      new Map<ResourceTypeUrl, Map<string, EnvoyResource>>([
        [
          EXTENSION_CONFIG,
          new Map([
            [
              BODY_FILTER,
              bodyFieldsResource(paths.map((path) => ({ path: `$.${path}`, keys: [path] }))),
            ],
          ]),
        ],
        ...tables({ a: timeout }),
      ]);
    cache.setSnapshot(DEFAULT_GROUP, config(['tier'], '1s'));
    const client = sotwClient(root, address());
    try {
      const ack = (
        type: string,
        names: string[],
        answered: { version_info: string; nonce: string },
      ) => {
        client.send(
          request(type, {
            resource_names: names,
            version_info: answered.version_info,
            response_nonce: answered.nonce,
          }),
        );
      };
      client.send(request(EXTENSION_CONFIG, { resource_names: [BODY_FILTER] }));
      const filter = await client.next();
      assert.equal(filter?.type_url, EXTENSION_CONFIG);
      ack(EXTENSION_CONFIG, [BODY_FILTER], filter);
      client.send(request(ROUTE, { resource_names: ['a'] }));
      const routes = await client.next();
      assert.equal(routes?.type_url, ROUTE);
      ack(ROUTE, ['a'], routes);

      cache.setSnapshot(DEFAULT_GROUP, config(['tier', 'region'], '2s'));
      const newFilter = await client.next();
      assert.equal(newFilter?.type_url, EXTENSION_CONFIG, 'the filter configuration first');
      assert.equal(await client.next(300), undefined, 'the tables wait for its answer');
      ack(EXTENSION_CONFIG, [BODY_FILTER], newFilter);
      const newRoutes = await client.next();
      assert.equal(newRoutes?.type_url, ROUTE);
      assert.deepEqual(names(newRoutes.resources), ['a']);
    } finally {
      client.close();
    }
  });
});
