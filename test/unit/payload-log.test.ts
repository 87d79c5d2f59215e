import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { EXECUTION_PLAN_VERSION, type ExecutionPlan } from '../../src/plan/execution.ts';
import { payloadEvents } from '../../src/executor/transport/payload-events.ts';
import { PayloadLog } from '../../src/executor/transport/payload-log.ts';

const answer = {
  kind: 'answer' as const,
  status: 200,
  headers: [['content-type', 'application/json']] as const,
  body: Buffer.from('{"outputs": [1]}'),
};

test('a request and its answer as CloudEvents: binary mode keeps the bytes, the line is structured', () => {
  const body = Buffer.from('{"inputs":  [1]}');
  const [request, response] = payloadEvents(
    'ns/g',
    'req-1',
    { contentType: 'application/json', body },
    answer,
  );
  assert.ok(request && response);
  assert.deepEqual(
    { ...request.binary.headers, 'ce-time': undefined },
    {
      'ce-specversion': '1.0',
      'ce-id': 'req-1',
      'ce-type': 'io.switchyard.inference.request',
      'ce-source': 'switchyard/ns/g',
      'ce-time': undefined,
      'content-type': 'application/json',
    },
  );
  assert.ok(request.binary.body.equals(body), 'the payload as the client sent it');
  assert.equal(response.binary.headers['ce-type'], 'io.switchyard.inference.response');
  assert.ok(response.binary.body.equals(answer.body));
  assert.ok(request.line().endsWith('\n') && !request.line().slice(0, -1).includes('\n'));
  const line = JSON.parse(request.line()) as Record<string, unknown>;
  assert.deepEqual(
    { ...line, time: undefined },
    {
      specversion: '1.0',
      id: 'req-1',
      type: 'io.switchyard.inference.request',
      source: 'switchyard/ns/g',
      datacontenttype: 'application/json',
      time: undefined,
      data: { inputs: [1] },
    },
  );
});

test('a payload that is not JSON stands in the line as base64; a hand-off has no answer event', () => {
  const bytes = Buffer.from([0, 1, 2, 255]);
  const events = payloadEvents(
    'ns/g',
    'req-2',
    { contentType: 'application/octet-stream', body: bytes },
    undefined,
  );
  assert.equal(events.length, 1);
  const line = JSON.parse(events[0]?.line() ?? '') as Record<string, unknown>;
  assert.equal(line.data_base64, bytes.toString('base64'));
  assert.equal(line.data, undefined);
});

function plan(payloadLog?: ExecutionPlan['payloadLog']): ExecutionPlan {
  return {
    version: EXECUTION_PLAN_VERSION,
    graph: 'ns/g',
    protocol: 'v2',
    timeoutMs: 1_000,
    entry: 'm',
    propagateHeaders: [],
    returnOutputs: [],
    maxBodyBytes: 1_000,
    nodes: {},
    ...(payloadLog && { payloadLog }),
  };
}

const seen = { headers: new Map([['content-type', 'application/json']]), body: Buffer.from('{}') };

test('the draw decides: below the sample logs, at or above it does not; no payloadLog, no draw', () => {
  const draws: number[] = [];
  const log = new PayloadLog({
    random: () => {
      draws.push(1);
      return 0.25;
    },
  });
  const sink = { file: '/nonexistent-dir/never-written.jsonl' };
  assert.equal(log.start(plan(), {}, seen).observer, undefined);
  assert.equal(draws.length, 0, 'a graph without payloadLog costs no draw');
  const sampled = log.start(plan({ sample: 0.5, sink }), {}, seen);
  const skipped = log.start(plan({ sample: 0.25, sink }), {}, seen);
  const never = log.start(plan({ sample: 0, sink }), {}, seen);
  assert.equal(draws.length, 3);
  const feedback = {
    headers: new Map([[':path', '/api/v1.0/feedback']]),
    body: Buffer.from('{}'),
  };
  assert.equal(log.start(plan({ sample: 1, sink }), {}, feedback), never, 'feedback is not logged');
  assert.equal(draws.length, 3);
  // Only the sampled watch does anything at its end; the others are one shared no-op.
  assert.equal(skipped, never);
  assert.notEqual(sampled, skipped);
});

test('a sink that does not answer: events past the queue are dropped and counted, at once', async () => {
  const held: ServerResponse[] = [];
  const server = createServer((_request: IncomingMessage, response: ServerResponse) => {
    held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const registry = new Registry();
  const log = new PayloadLog({
    random: () => 0,
    registry,
    queueLimit: 2,
    concurrency: 1,
    timeoutMs: 300,
  });
  const logged = plan({ sample: 1, sink: { url: `http://127.0.0.1:${String(port)}/` } });
  const started = performance.now();
  // Five requests, ten events: one in flight, two queued, seven dropped.
  for (let i = 0; i < 5; i += 1)
    log.start(logged, { requestId: `r${String(i)}` }, seen).end(200, answer);
  assert.ok(performance.now() - started < 100, 'a request never waits for the sink');
  const dropped = async (reason: string) =>
    (await registry.getSingleMetric('switchyard_payload_log_dropped_total')?.get())?.values.find(
      (v) => v.labels.reason === reason,
    )?.value ?? 0;
  // The events are made once the answers are on their way: one turn of the event loop later.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await dropped('queue-full'), 7);
  // The held POSTs time out: each is dropped too, and counted.
  const deadline = performance.now() + 5_000;
  while ((await dropped('failed')) < 3 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(await dropped('failed'), 3);
  for (const response of held) response.destroy();
  await log.close();
  await new Promise((resolve) => server.close(resolve));
});
