import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorResult, tooLarge } from '../../src/executor/interpreter/graph-answer.ts';
import { HopTimeoutError, type Hops } from '../../src/executor/interpreter/hops.ts';
import { ExecutorMetrics } from '../../src/executor/transport/executor-metrics.ts';
import { answeredAtOnce, answerWatched } from '../../src/executor/transport/request-telemetry.ts';
import { EXECUTION_PLAN_VERSION, type ExecutionPlan } from '../../src/plan/execution.ts';

/** Node calls answered from memory: `a` fails, `slow` times out, any other answers. */
const hops: Hops = {
  call(path) {
    if (path === '/g/slow') return Promise.reject(new HopTimeoutError(10));
    if (path === '/g/a') {
      return Promise.resolve({ status: 500, headers: new Map(), body: Buffer.from('no') });
    }
    const answer = { outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [2] }] };
    return Promise.resolve({
      status: 200,
      headers: new Map([['content-type', 'application/json']]),
      body: Buffer.from(JSON.stringify(answer)),
    });
  },
};

const step = { timeoutMs: 1_000, propagateHeaders: [], protocol: 'v2' } as const;

function plan(entry: string, nodes: Record<string, unknown>): ExecutionPlan {
  return {
    version: EXECUTION_PLAN_VERSION,
    graph: 'default/g',
    protocol: 'v2',
    timeoutMs: 1_000,
    entry,
    propagateHeaders: [],
    returnOutputs: [],
    maxBodyBytes: 1_000,
    nodes,
  } as unknown as ExecutionPlan;
}

const softThenModel = plan('seq', {
  seq: {
    ...step,
    soft: false,
    kind: 'sequence',
    steps: [
      { node: 'a', input: 'previous' },
      { node: 'b', input: 'previous' },
    ],
  },
  a: { ...step, soft: true, kind: 'model', hop: '/g/a' },
  b: { ...step, soft: false, kind: 'model', hop: '/g/b' },
});
const timesOut = plan('slow', { slow: { ...step, soft: false, kind: 'model', hop: '/g/slow' } });

async function value(metrics: ExecutorMetrics, name: string, labels: Record<string, string>) {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return found?.value ?? 0;
}

test('the executor counts requests and node calls per graph and node, and classes their failures', async () => {
  const metrics = new ExecutorMetrics();
  const services = { hops, random: () => 0.5, newId: () => 'id' };
  const body = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] }),
  );
  const headers = new Map([[':path', '/v2/models/g/infer']]);
  const run = (p: ExecutionPlan) =>
    answerWatched([metrics], {}, p, headers, body, services, () => undefined);

  const passed = await run(softThenModel);
  assert.equal(passed.kind === 'answer' && passed.status, 200);
  const failed = await run(timesOut);
  assert.equal(failed.kind === 'answer' && failed.status, 504);
  answeredAtOnce([metrics], {}, timesOut, errorResult(timesOut, tooLarge(timesOut, 5_000)));

  const graph = 'default/g';
  assert.equal(await value(metrics, 'switchyard_executor_requests_total', { graph }), 3);
  assert.equal(
    await value(metrics, 'switchyard_executor_errors_total', { graph, class: 'timeout' }),
    1,
  );
  assert.equal(
    await value(metrics, 'switchyard_executor_errors_total', { graph, class: 'client' }),
    1,
  );
  assert.equal(await value(metrics, 'switchyard_executor_in_flight_requests', { graph }), 0);
  // The soft node failed and the graph went on: a soft failure, not a node error.
  assert.equal(
    await value(metrics, 'switchyard_executor_node_errors_total', {
      graph,
      node: 'a',
      class: 'soft',
    }),
    1,
  );
  assert.equal(
    await value(metrics, 'switchyard_executor_node_errors_total', {
      graph,
      node: 'a',
      class: 'node',
    }),
    0,
  );
  assert.equal(
    await value(metrics, 'switchyard_executor_node_requests_total', { graph, node: 'b' }),
    1,
  );
  assert.equal(
    await value(metrics, 'switchyard_executor_node_errors_total', {
      graph,
      node: 'slow',
      class: 'timeout',
    }),
    1,
  );
});
