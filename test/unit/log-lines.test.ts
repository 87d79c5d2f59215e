import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestLog } from '../../src/executor/transport/request-log.ts';
import { EXECUTION_PLAN_VERSION, type ExecutionPlan } from '../../src/plan/execution.ts';
import { jsonLogger } from '../../src/runtime/log.ts';

function lines(write: (logger: ReturnType<typeof jsonLogger>) => void): Record<string, unknown>[] {
  const written: string[] = [];
  const logger = jsonLogger({ write: (line: string) => written.push(line) });
  logger.level = 'debug';
  write(logger);
  return written.map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('a control-plane line about an Envoy names it and its group as fields', () => {
  const [line] = lines((logger) => {
    logger.info(
      {
        envoy: 'edge-1',
        group: 'blue',
        typeUrl: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
        version: 'v7',
      },
      'Envoy edge-1 rejected RouteConfiguration version v7',
    );
  });
  assert.ok(line);
  assert.deepEqual(Object.keys(line).sort(), [
    'envoy',
    'group',
    'level',
    'msg',
    'pid',
    'time',
    'typeUrl',
    'version',
  ]);
  assert.equal(line.level, 'info');
  assert.equal(line.envoy, 'edge-1');
  assert.equal(line.group, 'blue');
  assert.equal(line.pid, process.pid);
  assert.ok(!Number.isNaN(Date.parse(String(line.time))), 'an ISO time');
});

test("the executor's request lines name their graph, node and Envoy's request id as fields", () => {
  const plan = {
    version: EXECUTION_PLAN_VERSION,
    graph: 'default/g',
    protocol: 'v2',
    timeoutMs: 1_000,
    entry: 'm',
    propagateHeaders: [],
    returnOutputs: [],
    maxBodyBytes: 1_000,
    nodes: {},
  } as unknown as ExecutionPlan;
  const [nodeLine, requestLine] = lines((logger) => {
    const watch = new RequestLog(logger).start(plan, { requestId: 'r-1' });
    watch.observer?.nodeCall('m', {})(504, false);
    watch.end(504);
  });
  assert.ok(nodeLine && requestLine);
  assert.deepEqual(
    {
      level: nodeLine.level,
      graph: nodeLine.graph,
      node: nodeLine.node,
      requestId: nodeLine.requestId,
    },
    { level: 'warn', graph: 'default/g', node: 'm', requestId: 'r-1' },
  );
  assert.deepEqual(
    {
      level: requestLine.level,
      graph: requestLine.graph,
      requestId: requestLine.requestId,
      status: requestLine.status,
    },
    { level: 'warn', graph: 'default/g', requestId: 'r-1', status: 504 },
  );
});
