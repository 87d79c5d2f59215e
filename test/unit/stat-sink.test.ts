import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TrafficWindow } from '../../src/controller/traffic-window.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { clusterCounterOf, clusterOfNode } from '../../src/envoy/cluster-stats.ts';
import { cluster } from '../../src/envoy/cluster.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { planUpstream, hasEndpoint } from '../../src/plan/upstreams.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { encodeAny } from '../../src/protos/proto-json.ts';
import { metricsService } from '../../src/xds/metrics-service.ts';
import { defaultListener } from '../support/listener.ts';

const graph = loadGraphDocuments(
  'g.yaml',
  `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: fraud, namespace: risk }
spec:
  entry: split
  nodes:
    split: { kind: splitter, routes: [{ to: fraud.v1, weight: 1 }] }
    fraud.v1: { kind: model, endpoint: { addresses: ['127.0.0.1:9000'] } }
`,
).graphs[0];

test("a node's cluster stats are under the name the translator gives them; stat names read back", () => {
  assert.ok(graph);
  const node = graph.nodes.get('fraud.v1');
  assert.ok(node && hasEndpoint(node));
  const translated = cluster(planUpstream(graph, 'fraud.v1', node), defaultListener());
  assert.equal(clusterOfNode(graph, 'fraud.v1'), translated.alt_stat_name);
  assert.equal(clusterOfNode(graph, 'split'), undefined, 'a splitter has no cluster');
  assert.deepEqual(
    clusterCounterOf(`cluster.${String(translated.alt_stat_name)}.upstream_rq_total`),
    { cluster: 'switchyard/risk/fraud/fraud%2Ev1', counter: 'requests' },
  );
  assert.deepEqual(clusterCounterOf('cluster.risk/fraud/fraud.v1.upstream_rq_5xx'), {
    cluster: 'risk/fraud/fraud.v1',
    counter: 'errors',
  });
  assert.equal(clusterCounterOf('cluster.risk/fraud/fraud.v1.upstream_rq_200'), undefined);
  assert.equal(clusterCounterOf('http.ingress.downstream_rq_total'), undefined);
  assert.equal(clusterCounterOf('cluster.upstream_rq_total'), undefined);
});

test('the traffic window adds increments up, forgets them after the window, and rates them', () => {
  let now = 1_000_000;
  const window = new TrafficWindow(60_000, () => now);
  window.record('c', 'requests', 30);
  window.record('c', 'errors', 3);
  window.record('c', 'requests', 0);
  now += 200;
  // A fifth of a second after the first report: rated over a second, not blown up fivefold.
  assert.equal(window.trafficOf('c')?.requestsPerSecond, 30);
  now += 9_800;
  window.record('c', 'requests', 20);
  assert.deepEqual(window.trafficOf('c'), {
    requests: 50,
    errors: 3,
    requestsPerSecond: 5,
    errorsPerSecond: 0.3,
  });
  assert.equal(window.trafficOf('other'), undefined);
  now += 55_000;
  // The first report left the window; the rate is over the whole window now.
  assert.deepEqual(window.trafficOf('c'), {
    requests: 20,
    errors: 0,
    requestsPerSecond: 20 / 60,
    errorsPerSecond: 0,
  });
  now += 10_000;
  assert.equal(window.trafficOf('c'), undefined);
});

test('the traffic window forgets clusters nobody reads once they leave the window', () => {
  let now = 0;
  const window = new TrafficWindow(60_000, () => now);
  for (let index = 0; index < 1000; index++) window.record(`gone/${String(index)}`, 'requests', 1);
  now += 61_000;
  window.record('kept', 'requests', 1);
  assert.equal(window.clusters, 1);
});

test('the bootstrap with the stat sink encodes as Envoy reads it; without, it has none', () => {
  const options = {
    nodeId: 'n',
    nodeCluster: 'g',
    xdsAddress: '127.0.0.1',
    xdsPort: 18000,
    adminPort: 9901,
  };
  assert.equal(bootstrapConfig(options).stats_sinks, undefined);
  const bootstrap = bootstrapConfig({ ...options, statSink: { flushIntervalMs: 1500 } });
  assert.equal(bootstrap.stats_flush_interval, '1.5s');
  const root = envoyProtos();
  const encoded = encodeAny(root, {
    '@type': 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap',
    ...bootstrap,
  });
  const decoded = root
    .lookupType('envoy.config.bootstrap.v3.Bootstrap')
    .toObject(root.lookupType('envoy.config.bootstrap.v3.Bootstrap').decode(encoded.value)) as {
    stats_sinks: { name: string }[];
  };
  assert.equal(decoded.stats_sinks[0]?.name, 'envoy.stat_sinks.metrics_service');
});

test('the metrics service hands each report to the control plane under the Envoy it came from', async () => {
  const root = envoyProtos();
  const reports: [string, Map<string, number>][] = [];
  const service = metricsService(root, (envoy, increments) => {
    reports.push([envoy, new Map(increments)]);
  });
  const server = new grpc.Server();
  server.addService(service.definition, { [service.name]: service.handle });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  const Client = grpc.makeGenericClientConstructor(service.definition, 'MetricsService');
  const client = new Client(`127.0.0.1:${String(port)}`, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) => {
      const call = client.makeClientStreamRequest(
        '/envoy.service.metrics.v3.MetricsService/StreamMetrics',
        service.definition.StreamMetrics?.requestSerialize ?? (() => Buffer.alloc(0)),
        () => ({}),
        (error: grpc.ServiceError | null) => {
          if (error) reject(error);
          else resolve();
        },
      );
      const counter = (name: string, value: number) => ({
        name,
        type: 0,
        metric: [{ counter: { value } }],
      });
      call.write({
        identifier: { node: { id: 'envoy-a' } },
        envoy_metrics: [
          counter('cluster.a/b/c.upstream_rq_total', 4),
          counter('cluster.a/b/c.upstream_rq_5xx', 0),
          { name: 'server.live', type: 1, metric: [{ gauge: { value: 1 } }] },
        ],
      });
      // Later messages carry no identifier: they are the same Envoy's.
      call.write({ envoy_metrics: [counter('cluster.a/b/c.upstream_rq_5xx', 2)] });
      call.end();
    });
  } finally {
    client.close();
    server.forceShutdown();
  }
  assert.deepEqual(reports, [
    ['envoy-a', new Map([['cluster.a/b/c.upstream_rq_total', 4]])],
    ['envoy-a', new Map([['cluster.a/b/c.upstream_rq_5xx', 2]])],
  ]);
});
