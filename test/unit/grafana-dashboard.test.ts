import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ControlPlaneMetrics } from '../../src/controller/control-plane-metrics.ts';
import { ExecutorMetrics } from '../../src/executor/transport/executor-metrics.ts';
import { GRAPH_TAG, NODE_TAG } from '../../src/envoy/stat-names.ts';
import { dashboardExpressions, metricNames } from '../support/dashboard.ts';

/** A histogram's series carry these suffixes; the registry names the histogram without them. */
const histogramSeries = /_(bucket|count|sum)$/;

test("every Switchyard metric the Grafana dashboard queries is in the control plane's or the executor's registry", async () => {
  const registered = new Set<string>();
  const registries = [
    new ControlPlaneMetrics(
      () => [],
      (cluster) => cluster,
    ).registry,
    new ExecutorMetrics().registry,
  ];
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) registered.add(metric.name);
  }
  const queried = metricNames(dashboardExpressions(), 'switchyard_');
  assert.ok(queried.size >= 15, `the dashboard queries ${String(queried.size)} metrics`);
  const missing = [...queried].filter(
    (name) =>
      !registered.has(name) &&
      !(histogramSeries.test(name) && registered.has(name.replace(histogramSeries, ''))),
  );
  // The tags Envoy's stats carry are labels, not metrics.
  assert.deepEqual(
    missing.filter((name) => name !== GRAPH_TAG && name !== NODE_TAG),
    [],
  );
});
