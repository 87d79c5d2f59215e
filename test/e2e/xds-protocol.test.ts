import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import type { EnvoyResource } from '../../src/envoy/resource-set.ts';
import {
  CLUSTER,
  ENDPOINT,
  LISTENER,
  ROUTE,
  typed,
  type ResourceTypeUrl,
} from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { AdsServer } from '../../src/xds/ads-server.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';
import { post, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';

/**
 * The ADS server against a real Envoy, with hand-built resources: ACK and
 * NACK, no resend loop, make-before-break order, removals. Both protocols
 * run the same suite.
 */
for (const delta of [false, true]) {
  describe(`${delta ? 'incremental (delta)' : 'state-of-the-world'} ADS against a real Envoy`, () => {
    const cache = new SnapshotCache();
    const sent: { typeUrl: string; version: string }[] = [];
    const nacks: { typeUrl: string; message: string }[] = [];
    const server = new AdsServer(cache, envoyProtos(), {
      events: {
        sent: (_s, typeUrl, version) => sent.push({ typeUrl, version }),
        nack: (_s, typeUrl, _version, message) => nacks.push({ typeUrl, message }),
      },
    });
    let model: SampleModel;
    let envoy: RunningEnvoy;
    let listenerPort = 0;
    let connectTimeout = '1s';

    const cluster = (name: string): EnvoyResource => ({
      '@type': CLUSTER,
      name,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      connect_timeout: connectTimeout,
    });
    const endpoints = (name: string): EnvoyResource => ({
      '@type': ENDPOINT,
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: { socket_address: { address: '127.0.0.1', port_value: model.port } },
              },
            },
          ],
        },
      ],
    });
    const listener = (): EnvoyResource => ({
      '@type': LISTENER,
      name: 'l1',
      address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': typed(
                  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                ),
                stat_prefix: 'test',
                rds: {
                  route_config_name: 'r1',
                  config_source: { ads: {}, resource_api_version: 'V3' },
                },
                http_filters: [
                  {
                    name: 'envoy.filters.http.router',
                    typed_config: {
                      '@type': typed('envoy.extensions.filters.http.router.v3.Router'),
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const routes = (routeList: Record<string, unknown>[]): EnvoyResource => ({
      '@type': ROUTE,
      name: 'r1',
      virtual_hosts: [{ name: 'all', domains: ['*'], routes: routeList }],
    });
    const toCluster = (name: string, prefix = '/') => ({
      match: { prefix },
      route: { cluster: name, prefix_rewrite: '/v2/models/m/infer' },
    });

    function snapshot(
      clusters: string[],
      routeList: Record<string, unknown>[],
    ): Map<ResourceTypeUrl, Map<string, EnvoyResource>> {
      return new Map<ResourceTypeUrl, Map<string, EnvoyResource>>([
        [CLUSTER, new Map(clusters.map((c) => [c, cluster(c)]))],
        [ENDPOINT, new Map(clusters.map((c) => [c, endpoints(c)]))],
        [LISTENER, new Map([['l1', listener()]])],
        [ROUTE, new Map([['r1', routes(routeList)]])],
      ]);
    }

    const clusterNames = async () => {
      const dump = (await envoy.configDump('dynamic_active_clusters')) as {
        configs?: { cluster?: { name?: string } }[];
      };
      return (dump.configs ?? []).map((c) => c.cluster?.name).sort();
    };

    before(async () => {
      model = await startSampleModel({ name: 'm', version: 'one' });
      listenerPort = await freePort();
      cache.setSnapshot(DEFAULT_GROUP, snapshot(['c1'], [toCluster('c1')]));
      const xdsPort = await server.start({ host: '127.0.0.1', port: 0 });
      envoy = await startEnvoyProcess({
        bootstrap: bootstrapConfig({
          nodeId: 'xds-test',
          nodeCluster: 'switchyard',
          xdsAddress: '127.0.0.1',
          xdsPort,
          adminPort: await freePort(),
          delta,
        }),
        name: 'xds',
      });
    });

    after(async () => {
      await envoy.stop();
      await server.stop();
      await model.stop();
    });

    const url = (path = '/') => `http://127.0.0.1:${String(listenerPort)}${path}`;

    test('the first snapshot reaches Envoy in make-before-break order, and is ACKed', async () => {
      assert.deepEqual(
        sent.map((s) => s.typeUrl),
        [CLUSTER, ENDPOINT, LISTENER, ROUTE],
      );
      assert.equal((await post(url())).status, 200);
      const [status] = server.status();
      assert.equal(status?.nodeId, 'xds-test');
      assert.equal(status.protocol, delta ? 'delta' : 'sotw');
      for (const typeUrl of [CLUSTER, ENDPOINT, LISTENER, ROUTE]) {
        const type = status.types[typeUrl];
        assert.ok(
          type?.sentVersion !== undefined && type.sentVersion === type.ackedVersion,
          typeUrl,
        );
      }
    });

    test('a new cluster and the route to it: clusters and endpoints before routes', async () => {
      sent.length = 0;
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot(['c1', 'c2'], [toCluster('c2', '/two'), toCluster('c1')]),
      );
      await waitFor('the route to c2', async () => (await post(url('/two'))).status === 200, 5000);
      const order = sent.map((s) => s.typeUrl);
      assert.equal(order[0], CLUSTER);
      assert.equal(order.at(-1), ROUTE);
      assert.ok(order.indexOf(ENDPOINT) < order.indexOf(ROUTE), 'endpoints before routes');
      assert.ok(!order.includes(LISTENER), 'the listener did not change, so it is not sent');
    });

    test('a NACK is recorded with Envoy’s message, the last good config keeps serving, nothing is resent', async () => {
      sent.length = 0;
      const broken = [
        { match: { safe_regex: { regex: '(' } }, route: { cluster: 'c1' } },
        toCluster('c2', '/two'),
        toCluster('c1'),
      ];
      cache.setSnapshot(DEFAULT_GROUP, snapshot(['c1', 'c2'], broken));
      await waitFor('the NACK', () => nacks.length > 0, 5000);
      const [nack] = nacks;
      assert.ok(nack);
      assert.equal(nack.typeUrl, ROUTE);
      assert.match(nack.message, /regex|missing \)/i);
      const status = server.status()[0]?.types[ROUTE];
      assert.ok(status?.nack && status.nack.version !== status.ackedVersion);
      assert.equal((await post(url('/two'))).status, 200, 'the last good routes serve on');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(
        sent.filter((s) => s.typeUrl === ROUTE).length,
        1,
        'the rejected routes were sent once',
      );
      assert.equal(nacks.length, 1);
    });

    test('a changed cluster gets its endpoints again and does not stay warming', async () => {
      sent.length = 0;
      connectTimeout = '2s';
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot(['c1', 'c2'], [toCluster('c2', '/two'), toCluster('c1')]),
      );
      await waitFor(
        'the changed clusters to be active, none warming',
        async () => {
          const warming = (await envoy.configDump('dynamic_warming_clusters')) as {
            configs?: unknown[];
          };
          const active = JSON.stringify(await envoy.configDump('dynamic_active_clusters'));
          return (warming.configs ?? []).length === 0 && active.includes('"connect_timeout":"2s"');
        },
        5000,
      );
      const order = sent.map((s) => s.typeUrl);
      assert.deepEqual(
        order.slice(0, 2),
        [CLUSTER, ENDPOINT],
        'endpoints resent right after clusters',
      );
      assert.equal((await post(url('/two'))).status, 200);
    });

    test('removed resources disappear from Envoy, after the routes stop using them', async () => {
      sent.length = 0;
      cache.setSnapshot(DEFAULT_GROUP, snapshot(['c1'], [toCluster('c1')]));
      await waitFor('c2 to be gone', async () => !(await clusterNames()).includes('c2'), 5000);
      assert.deepEqual(await clusterNames(), ['c1']);
      const order = sent.map((s) => s.typeUrl);
      assert.ok(
        order.indexOf(ROUTE) < order.lastIndexOf(CLUSTER),
        'routes first, then the cluster removal',
      );
      assert.equal((await post(url())).status, 200, 'c1 serves on');
    });
  });
}
