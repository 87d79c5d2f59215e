import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { startStatusServer } from '../../src/controller/status-server.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { dashboardExpressions, metricNames } from '../support/dashboard.ts';
import { startExecutorProcess, type ExecutorProcess } from '../support/executor-process.ts';
import { post, waitFor } from '../support/http.ts';
import { freePort, freePortRun } from '../support/ports.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { arithmeticModels, writeBothWaysIn } from '../support/two-step-graphs.ts';

/**
 * Metrics and logs of a running data plane: `switchyard executor` with two
 * workers and --metrics-port, a control plane with its status server, a
 * real Envoy, two executor graphs (ext_proc and upstream) and one Envoy runs alone.
 */

const WORKERS = 2;
/** Sent in every request's body and headers: it must show in no metric and no log line. */
const SECRET = 'payload-marker-7f3a91';
/** The Envoy-native graph's host: its dots must not split the route stats' names. */
const DIRECT_HOST = 'models.example.test';

/** The value of the series `name{labels}` in Prometheus text; undefined if absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]),
    );
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const reply = await request(url);
  assert.equal(reply.statusCode, 200);
  return reply.body.text();
}

describe('metrics and logs of the control plane and the executor', () => {
  let models: ScriptedServer;
  let controlPlane: ControlPlane;
  let envoy: RunningEnvoy;
  let executor: ExecutorProcess;
  let base: string;
  let executorMetricsUrl: string;
  let controlPlaneMetricsUrl: string;
  const input = { inputs: [{ name: SECRET, shape: [1], datatype: 'FP64', data: [1] }] };
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    models = await startScriptedServer({
      ...arithmeticModels,
      // A node whose failure quotes the request: the quote must reach no log line.
      '/v2/models/broken/infer': () => ({ status: 500, text: `cannot read ${SECRET}` }),
    });
    cleanups.push(() => models.stop());
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-observe-'));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
    writeBothWaysIn(dir, models.address);
    writeFileSync(
      join(dir, 'direct.yaml'),
      `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: direct }
spec:
  host: models.example.test
  entry: add
  nodes:
    add: { kind: model, model: add-ten, endpoint: { addresses: ["${models.address}"] } }
`,
    );
    writeFileSync(
      join(dir, 'broken.yaml'),
      `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: broken }
spec:
  entry: seq
  returnOutputs: [add]
  nodes:
    seq: { kind: sequence, steps: [{ node: add }, { node: fail }] }
    add: { kind: model, model: add-ten, endpoint: { addresses: ["${models.address}"] } }
    fail: { kind: model, model: broken, endpoint: { addresses: ["${models.address}"] } }
`,
    );
    const listenerPort = await freePort();
    const hopPort = await freePort();
    const firstPort = await freePortRun(WORKERS);
    const metricsPort = await freePort();
    executorMetricsUrl = `http://127.0.0.1:${String(metricsPort)}/metrics`;
    executor = await startExecutorProcess(WORKERS, [
      '--port',
      String(firstPort),
      '--hop-url',
      `http://127.0.0.1:${String(hopPort)}`,
      '--metrics-port',
      String(metricsPort),
      '--log-level',
      'debug',
    ]);
    cleanups.push(() => executor.stop());
    controlPlane = await startControlPlane({
      graphsDir: dir,
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      log: () => undefined,
      listener: {
        address: '127.0.0.1',
        port: listenerPort,
        hopPort,
        executor: { address: '127.0.0.1', port: firstPort, workers: WORKERS },
      },
    });
    cleanups.push(() => controlPlane.stop());
    const registry = controlPlane.metrics.registry;
    const status = await startStatusServer(
      controlPlane.status,
      { host: '127.0.0.1', port: 0 },
      {},
      new Map([
        ['/metrics', { contentType: registry.contentType, body: () => registry.metrics() }],
      ]),
    );
    cleanups.push(() => status.stop());
    controlPlaneMetricsUrl = `http://127.0.0.1:${String(status.port)}/metrics`;
    envoy = await startEnvoyProcess({
      bootstrap: bootstrapConfig({
        nodeId: 'e2e-observe',
        nodeCluster: 'switchyard',
        xdsAddress: '127.0.0.1',
        xdsPort: controlPlane.xdsPort,
        adminPort: await freePort(),
      }),
      name: 'observe',
    });
    cleanups.push(() => envoy.stop());
    base = `http://127.0.0.1:${String(listenerPort)}/v2/models`;
    await waitFor('the graphs to answer', async () => {
      try {
        return (
          (await post(`${base}/hand/infer`, input)).status === 200 &&
          (await post(`${base}/whole/infer`, input)).status === 200 &&
          (await post(`${base}/direct/infer`, input, { host: DIRECT_HOST })).status === 200
        );
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test("the executor's /metrics sums its workers: requests, node calls and latencies per graph and node", async () => {
    const before = await scrape(executorMetricsUrl);
    const count = (text: string, graph: string) =>
      sample(text, 'switchyard_executor_requests_total', { graph }) ?? 0;
    const requests = 40;
    for (const name of ['hand', 'whole']) {
      // Ten at a time: enough to spread over both workers, little enough for a loaded machine.
      for (let sent = 0; sent < requests; sent += 10) {
        const replies = await Promise.all(
          Array.from({ length: 10 }, () =>
            post(`${base}/${name}/infer`, input, { 'x-secret': SECRET }),
          ),
        );
        assert.deepEqual(
          replies.filter((r) => r.status !== 200).map((r) => `${String(r.status)} ${r.text}`),
          [],
        );
      }
    }
    const text = await scrape(executorMetricsUrl);
    for (const graph of ['default/hand', 'default/whole']) {
      assert.equal(count(text, graph) - count(before, graph), requests, graph);
      assert.equal(sample(text, 'switchyard_executor_in_flight_requests', { graph }), 0);
      assert.ok(
        (sample(text, 'switchyard_executor_request_duration_seconds_count', { graph }) ?? 0) >=
          requests,
      );
    }
    // The ext_proc graph hands its last step to Envoy: the executor calls only `add`.
    const nodeCalls = (graph: string, node: string) =>
      (sample(text, 'switchyard_executor_node_requests_total', { graph, node }) ?? 0) -
      (sample(before, 'switchyard_executor_node_requests_total', { graph, node }) ?? 0);
    assert.equal(nodeCalls('default/hand', 'add'), requests);
    assert.equal(nodeCalls('default/whole', 'add'), requests);
    assert.equal(nodeCalls('default/whole', 'mul'), requests);
    assert.ok(
      (sample(text, 'switchyard_executor_node_duration_seconds_bucket', {
        graph: 'default/whole',
        node: 'mul',
        le: '+Inf',
      }) ?? 0) >= requests,
    );
    assert.ok(!text.includes(SECRET), 'no metric holds anything of a request');
  });

  test("the control plane's /metrics: graphs by state, connected Envoys, ACKs, compile and push times", async () => {
    const text = await scrape(controlPlaneMetricsUrl);
    const group = 'switchyard';
    assert.equal(sample(text, 'switchyard_graphs', { group, state: 'accepted' }), 4);
    assert.equal(sample(text, 'switchyard_graphs', { group, state: 'rejected' }), 0);
    assert.equal(sample(text, 'switchyard_graphs', { group, state: 'programmed' }), 4);
    assert.equal(sample(text, 'switchyard_xds_connected_envoys', { group }), 1);
    const routes = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
    assert.ok((sample(text, 'switchyard_xds_acks_total', { type_url: routes }) ?? 0) >= 1);
    assert.ok(
      (sample(text, 'switchyard_xds_push_duration_seconds_count', { type_url: routes }) ?? 0) >= 1,
    );
    assert.ok((sample(text, 'switchyard_compile_duration_seconds_count', { group }) ?? 0) >= 1);
    const age = sample(text, 'switchyard_xds_last_push_age_seconds', { group });
    assert.ok(age !== undefined && age >= 0 && age < 300, `last push age ${String(age)}`);
    assert.ok(!text.includes(SECRET));
  });

  test('a failing node is counted as a node error of its graph and logged without its answer', async () => {
    const reply = await post(`${base}/broken/infer`, input, { 'x-secret': SECRET });
    assert.equal(reply.status, 502);
    await waitFor('the failure to be logged', () =>
      executor.output().includes('graph request failed'),
    );
    const text = await scrape(executorMetricsUrl);
    const graph = 'default/broken';
    assert.equal(sample(text, 'switchyard_executor_errors_total', { graph, class: 'node' }), 1);
    assert.equal(
      sample(text, 'switchyard_executor_node_errors_total', { graph, node: 'fail', class: 'node' }),
      1,
    );
  });

  test('the executor logs JSON lines with graph, node, status and request id, and never a payload', () => {
    const lines = executor
      .output()
      .split('\n')
      .filter((line) => line !== '');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) {
      assert.equal(typeof entry.level, 'string');
      assert.equal(typeof entry.msg, 'string');
    }
    const requests = entries.filter((e) => e.msg === 'graph request');
    assert.ok(requests.length >= 80, 'a debug line per request');
    assert.ok(
      requests.every((e) => typeof e.graph === 'string' && typeof e.requestId === 'string'),
    );
    const failedCall = entries.find((e) => e.msg === 'a node call failed');
    assert.deepEqual(
      failedCall && [failedCall.level, failedCall.graph, failedCall.node, failedCall.status],
      ['warn', 'default/broken', 'fail', 502],
    );
    assert.ok(!executor.output().includes(SECRET), 'no log line holds a payload or a header value');
  });

  test("Envoy's stats of each node's cluster carry its graph and node as tags", async () => {
    const text = await scrape(`${envoy.adminUrl}/stats/prometheus`);
    for (const [graph, node] of [
      ['default/whole', 'add'],
      ['default/whole', 'mul'],
      ['default/hand', 'mul'],
    ] as const) {
      const sent = sample(text, 'envoy_cluster_upstream_rq_total', {
        switchyard_graph: graph,
        switchyard_node: node,
      });
      assert.ok((sent ?? 0) >= 1, `${graph} ${node}: ${String(sent)}`);
    }
  });

  test("Envoy's stats of each graph's routes carry its graph, and of each hop route also its node", async () => {
    const requests = 5;
    for (let sent = 0; sent < requests; sent++) {
      const reply = await post(`${base}/direct/infer`, input, { host: DIRECT_HOST });
      assert.equal(reply.status, 200, reply.text);
    }
    const text = await scrape(`${envoy.adminUrl}/stats/prometheus`);
    const routed = (labels: Record<string, string>) =>
      sample(text, 'envoy_vhost_route_upstream_rq_total', labels) ?? 0;
    // Envoy runs `direct` alone; its virtual host is its host with the dots escaped.
    assert.ok(
      routed({
        switchyard_graph: 'default/direct',
        envoy_virtual_host: 'models%2Eexample%2Etest',
        envoy_route: 'switchyard/default/direct',
      }) >= requests,
      'the native graph',
    );
    // `whole` goes to the executor through its graph route, `hand` comes back through a hand-off route.
    for (const graph of ['default/whole', 'default/hand']) {
      assert.ok(routed({ switchyard_graph: graph, envoy_virtual_host: 'any-host' }) >= 40, graph);
    }
    // The executor's node calls go through the hop listener's route of each node.
    for (const node of ['add', 'mul']) {
      const labels = { switchyard_graph: 'default/whole', switchyard_node: node };
      assert.ok(routed({ ...labels, envoy_virtual_host: 'hops' }) >= 40, node);
      assert.ok(
        (sample(text, 'envoy_vhost_route_upstream_rq_xx', {
          ...labels,
          envoy_response_code_class: '2',
        }) ?? 0) >= 40,
        node,
      );
    }
    // Envoy merges histograms at its stats flush (every 5 s), not on each request.
    await waitFor("the hop routes' latency histograms", async () => {
      const merged = await scrape(`${envoy.adminUrl}/stats/prometheus`);
      return ['add', 'mul'].every(
        (node) =>
          (sample(merged, 'envoy_vhost_route_upstream_rq_time_count', {
            switchyard_graph: 'default/whole',
            switchyard_node: node,
          }) ?? 0) >= 40,
      );
    });
    // A graph route's stats name no node: they count the graph's requests, whichever node served them.
    const graphRouteLines = text
      .split('\n')
      .filter((line) => line.startsWith('envoy_vhost_route_') && line.includes('"any-host"'));
    assert.ok(graphRouteLines.length > 0);
    assert.deepEqual(
      graphRouteLines.filter((line) => line.includes('switchyard_node=')),
      [],
    );
  });

  test("the dashboard's Envoy queries read series that exist in a real Envoy, tagged", async () => {
    const text = await scrape(`${envoy.adminUrl}/stats/prometheus`);
    for (const name of metricNames(dashboardExpressions(), 'envoy_')) {
      assert.match(text, new RegExp(`^${name}\\{[^}]*switchyard_graph="default/whole"`, 'm'), name);
    }
  });
});
