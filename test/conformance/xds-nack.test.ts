import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EnvoyResource } from '../../src/envoy/resource-set.ts';
import { CLUSTER, ROUTE, type ResourceTypeUrl } from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { AdsServer } from '../../src/xds/ads-server.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';
import { scriptedEnvoy, type Received, type ScriptedEnvoy } from '../support/scripted-envoy.ts';

/**
 * What the server does when Envoy refuses: a scripted Envoy ACKs and NACKs
 * exactly as a test says, on both protocols. Resources are named as the
 * translator names them: clusters "<namespace>/<graph>/<node>", routes
 * with the graph in their metadata.
 */
const root = envoyProtos();

function cluster(name: string, timeout: string): EnvoyResource {
  return {
    '@type': CLUSTER,
    name,
    type: 'STATIC',
    connect_timeout: timeout,
    load_assignment: { cluster_name: name, endpoints: [] },
  };
}

/** A graph's route table: a route to each cluster, or one that answers `tag` itself. */
function table(name: string, graph: string, clusters: readonly string[], tag: string) {
  const metadata = { filter_metadata: { switchyard: { graph, node: 'n' } } };
  const routes =
    clusters.length === 0
      ? [
          {
            name: `${graph}/0`,
            match: { prefix: '/' },
            direct_response: { status: 200, body: { inline_string: tag } },
            metadata,
          },
        ]
      : clusters.map((c, i) => ({
          name: `${graph}/${String(i)}/${tag}`,
          match: { prefix: `/${String(i)}` },
          route: { cluster: c },
          metadata,
        }));
  return {
    '@type': ROUTE,
    name,
    virtual_hosts: [{ name: 'any', domains: ['*'], routes }],
  } satisfies EnvoyResource;
}

function snapshot(
  clusters: Readonly<Record<string, string>>,
  tables: readonly EnvoyResource[],
): Map<ResourceTypeUrl, Map<string, EnvoyResource>> {
  return new Map<ResourceTypeUrl, Map<string, EnvoyResource>>([
    [
      CLUSTER,
      new Map(Object.entries(clusters).map(([name, timeout]) => [name, cluster(name, timeout)])),
    ],
    [ROUTE, new Map(tables.map((t) => [String(t.name), t]))],
  ]);
}

/** The answer a route of a table gives, as a response carried it (SotW Anys decode to objects). */
function answerOf(received: Received, name: string): string | undefined {
  const hosts = received.resources[name]?.virtual_hosts as
    { routes?: { direct_response?: { body?: { inline_string?: string } } }[] }[] | undefined;
  return hosts?.[0]?.routes?.[0]?.direct_response?.body?.inline_string;
}

for (const delta of [false, true]) {
  describe(`${delta ? 'delta' : 'SotW'}: what a NACK does`, () => {
    const cache = new SnapshotCache();
    const server = new AdsServer(cache, root);
    let address = '';
    let nodes = 0;
    const envoys: ScriptedEnvoy[] = [];

    before(async () => {
      address = `127.0.0.1:${String(await server.start({ host: '127.0.0.1', port: 0 }))}`;
    });
    after(async () => {
      for (const envoy of envoys) envoy.close();
      await server.stop();
    });

    /** A new Envoy (a node id of its own) on this server. */
    const connect = (
      id = `nack-${String((nodes += 1))}`,
      reconnect?: Parameters<typeof scriptedEnvoy>[2]['reconnect'],
    ) => {
      const envoy = scriptedEnvoy(root, address, {
        delta,
        node: { id, cluster: 'switchyard' },
        ...(reconnect && { reconnect }),
      });
      envoys.push(envoy);
      return { id, envoy };
    };

    const expect = async (envoy: ScriptedEnvoy, typeUrl: string): Promise<Received> => {
      const received = await envoy.next();
      assert.ok(received, `a ${typeUrl.split('.').at(-1) ?? ''} response`);
      assert.equal(received.typeUrl, typeUrl);
      return received;
    };

    const nothingMore = async (envoy: ScriptedEnvoy) => {
      const extra = await envoy.next(500);
      assert.equal(extra, undefined, `nothing more is sent: ${JSON.stringify(extra?.names)}`);
    };

    /** Clusters, then the tables, each ACKed; returns the tables' response. */
    const start = async (envoy: ScriptedEnvoy, tables: readonly string[]) => {
      envoy.subscribe(CLUSTER);
      envoy.ack(await expect(envoy, CLUSTER));
      envoy.subscribe(ROUTE, tables);
      const routes = await expect(envoy, ROUTE);
      assert.deepEqual([...routes.names].sort(), [...tables].sort());
      envoy.ack(routes);
      return routes;
    };

    test('a cluster Envoy names is not sent again, nor the table of its graph; another graph’s table is', async () => {
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({ 'ns/a/x': '1s', 'ns/b/y': '1s' }, [
          table('ta', 'ns/a', ['ns/a/x'], '1'),
          table('tb', 'ns/b', ['ns/b/y'], '1'),
        ]),
      );
      const { id, envoy } = connect();
      await start(envoy, ['ta', 'tb']);

      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({ 'ns/a/x': '2s', 'ns/b/y': '1s' }, [
          table('ta', 'ns/a', ['ns/a/x'], '2'),
          table('tb', 'ns/b', ['ns/b/y'], '2'),
        ]),
      );
      const clusters = await expect(envoy, CLUSTER);
      assert.ok(clusters.names.includes('ns/a/x'));
      envoy.nack(clusters, 'Error adding/updating cluster(s) ns/a/x: refused on purpose');
      const routes = await expect(envoy, ROUTE);
      assert.deepEqual(routes.names, ['tb'], 'graph a keeps its table; graph b’s goes');
      envoy.ack(routes);
      await nothingMore(envoy);

      const [status] = server.status().filter((s) => s.nodeId === id);
      assert.deepEqual(
        status?.rejected.map((r) => [r.name, r.graphs, r.message]),
        [['ns/a/x', ['ns/a'], 'Error adding/updating cluster(s) ns/a/x: refused on purpose']],
      );
      const report = server.envoys().find((e) => e.status.nodeId === id)?.graphs;
      assert.ok(report);
      assert.equal(report.programs('ns/a'), false);
      assert.equal(report.programs('ns/b'), true);
      assert.deepEqual(
        report.problems('ns/a').map((p) => [p.kind, p.name]),
        [['rejected', 'ns/a/x']],
      );

      // The next change of the cluster goes, and the table after it.
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({ 'ns/a/x': '3s', 'ns/b/y': '1s' }, [
          table('ta', 'ns/a', ['ns/a/x'], '2'),
          table('tb', 'ns/b', ['ns/b/y'], '2'),
        ]),
      );
      envoy.ack(await expect(envoy, CLUSTER));
      const recovered = await expect(envoy, ROUTE);
      assert.deepEqual(recovered.names, ['ta']);
      envoy.ack(recovered);
      await nothingMore(envoy);
      assert.equal(
        server
          .envoys()
          .find((e) => e.status.nodeId === id)
          ?.graphs.programs('ns/a'),
        true,
      );
    });

    test('a refused table keeps the clusters its running version uses, until a new one is ACKed', async () => {
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({ 'ns/a/x': '1s' }, [table('ta', 'ns/a', ['ns/a/x'], '1')]),
      );
      const { envoy } = connect();
      await start(envoy, ['ta']);

      // The new version uses y instead of x.
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({ 'ns/a/y': '1s' }, [table('ta', 'ns/a', ['ns/a/y'], '2')]),
      );
      const clusters = await expect(envoy, CLUSTER);
      assert.ok(clusters.names.includes('ns/a/y'));
      assert.ok(delta || clusters.names.includes('ns/a/x'), 'x stays while the old table runs');
      assert.deepEqual(clusters.removed, []);
      envoy.ack(clusters);
      envoy.nack(await expect(envoy, ROUTE), 'regex too large');
      // No resend of the table, and x is not removed.
      await nothingMore(envoy);

      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({ 'ns/a/y': '1s' }, [table('ta', 'ns/a', ['ns/a/y'], '3')]),
      );
      const routes = await expect(envoy, ROUTE);
      assert.deepEqual(routes.names, ['ta']);
      envoy.ack(routes);
      const removal = await expect(envoy, CLUSTER);
      if (delta) assert.deepEqual(removal.removed, ['ns/a/x']);
      else assert.deepEqual(removal.names, ['ns/a/y']);
      envoy.ack(removal);
      await nothingMore(envoy);
    });

    test('a refusal that names nothing: the graphs go again apart, the good one is ACKed, the bad one never again', async () => {
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({}, [table('ta', 'ns/a', [], '1'), table('tb', 'ns/b', [], '1')]),
      );
      const { id, envoy } = connect();
      const initial = await start(envoy, ['ta', 'tb']);

      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({}, [table('ta', 'ns/a', [], '2'), table('tb', 'ns/b', [], '2')]),
      );
      const both = await expect(envoy, ROUTE);
      assert.deepEqual([...both.names].sort(), ['ta', 'tb']);
      envoy.nack(both, 'one of them is wrong');
      const first = await expect(envoy, ROUTE);
      assert.deepEqual(first.names, ['ta'], 'one graph at a time');
      envoy.nack(first, 'this one is wrong');
      const second = await expect(envoy, ROUTE);
      assert.deepEqual(second.names, ['tb']);
      envoy.ack(second);
      await nothingMore(envoy);

      // Graph b changes again: only its table goes.
      cache.setSnapshot(
        DEFAULT_GROUP,
        snapshot({}, [table('ta', 'ns/a', [], '2'), table('tb', 'ns/b', [], '3')]),
      );
      const third = await expect(envoy, ROUTE);
      assert.deepEqual(third.names, ['tb']);
      envoy.ack(third);
      await nothingMore(envoy);
      envoy.close();

      // The same Envoy reconnects, saying what it runs: ta's first version, tb's third.
      const again = connect(id, {
        versions: { [ROUTE]: third.version },
        resources: {
          [ROUTE]: { ta: initial.versions.ta ?? '', tb: third.versions.tb ?? '' },
        },
      }).envoy;
      again.subscribe(ROUTE, ['ta', 'tb']);
      if (delta) {
        await nothingMore(again);
      } else {
        // State of the world answers a new stream whole: with what Envoy runs of ta.
        const whole = await expect(again, ROUTE);
        assert.deepEqual([...whole.names].sort(), ['ta', 'tb']);
        assert.equal(answerOf(whole, 'ta'), '1', 'the refused version of ta is not sent again');
        assert.equal(answerOf(whole, 'tb'), '3');
        again.ack(whole);
        await nothingMore(again);
      }
    });
  });
}
