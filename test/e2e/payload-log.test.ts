import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { PayloadLog } from '../../src/executor/transport/payload-log.ts';
import { post, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { arithmeticModels } from '../support/two-step-graphs.ts';

/**
 * spec.payloadLog through a real Envoy, control plane and executor: a
 * one-model graph (Envoy would route it alone) logs to an HTTP sink of the
 * test's own and to a file; a graph sampled at 0 logs nothing; a dead sink
 * costs counted drops, never a request.
 */

function graph(name: string, sample: number, sink: string, modelAddress: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: add
  payloadLog: { sample: ${String(sample)}, sink: ${sink} }
  nodes:
    add: { kind: model, model: add-ten, endpoint: { addresses: ["${modelAddress}"] } }
`;
}

function droppedCount(text: string, graphName: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (
      line.startsWith('switchyard_payload_log_dropped_total{') &&
      line.includes(`graph="default/${graphName}"`)
    ) {
      total += Number(line.split(' ').at(-1));
    }
  }
  return total;
}

describe('the sampled payload log', () => {
  let models: ScriptedServer;
  let sink: ScriptedServer;
  let stack: Stack;
  const registry = new Registry();
  // Every request draws 0.5: sampled at 1, never at 0.
  const payloadLog = new PayloadLog({ random: () => 0.5, registry, timeoutMs: 500 });
  let file: string;

  before(async () => {
    models = await startScriptedServer(arithmeticModels);
    sink = await startScriptedServer({ '/events': () => ({ status: 202, json: {} }) });
    const deadPort = await freePort();
    const modelAddress = `127.0.0.1:${String(models.port)}`;
    stack = await startStack('payload-log', {}, { executorTelemetry: [payloadLog] });
    file = join(stack.dir, 'payloads.jsonl');
    const sinkUrl = `http://127.0.0.1:${String(sink.port)}/events`;
    stack.write('http.yaml', graph('logged-http', 1, `{ url: "${sinkUrl}" }`, modelAddress));
    stack.write('file.yaml', graph('logged-file', 1, `{ file: "${file}" }`, modelAddress));
    stack.write('unsampled.yaml', graph('unsampled', 0, `{ url: "${sinkUrl}" }`, modelAddress));
    stack.write(
      'dead.yaml',
      graph('dead-sink', 1, `{ url: "http://127.0.0.1:${String(deadPort)}/" }`, modelAddress),
    );
    for (const name of ['logged-http', 'logged-file', 'unsampled', 'dead-sink']) {
      await waitFor(
        `${name} served`,
        async () => (await post(`${stack.base}/v2/models/${name}/infer`)).status === 200,
        30_000,
        100,
      );
    }
    sink.requests.length = 0;
    models.requests.length = 0;
  });

  after(async () => {
    await stack.stop();
    await payloadLog.close();
    await sink.stop();
    await models.stop();
  });

  test('sample 1: the request and its answer reach the HTTP sink as binary-mode CloudEvents', async () => {
    const reply = await post(`${stack.base}/v2/models/logged-http/infer`, {
      inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }],
    });
    assert.equal(reply.status, 200);
    await waitFor('two events', () => sink.requests.length >= 2, 5_000);
    const byType = new Map(sink.requests.map((r) => [r.headers['ce-type'], r]));
    const request = byType.get('io.switchyard.inference.request');
    const response = byType.get('io.switchyard.inference.response');
    assert.ok(request && response, 'a request and a response event');
    const modelCall = models.requests.at(-1);
    const requestId = modelCall?.headers['x-request-id'];
    assert.equal(typeof requestId, 'string');
    for (const event of [request, response]) {
      assert.equal(event.headers['ce-specversion'], '1.0');
      assert.equal(event.headers['ce-id'], requestId);
      assert.equal(event.headers['ce-source'], 'switchyard/default/logged-http');
      assert.match(String(event.headers['content-type']), /^application\/json/);
    }
    assert.deepEqual(request.json, {
      inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }],
    });
    assert.equal(response.body, reply.text);
    assert.equal(sink.requests.length, 2, 'one request, two events');
  });

  test('sample 1: a file sink gets one structured-mode JSON line per event', async () => {
    const lines = () => {
      try {
        return readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '');
      } catch {
        return [];
      }
    };
    // The warm-up request was logged too: this request's lines follow its.
    await waitFor('the warm-up lines', () => lines().length >= 2, 5_000);
    const earlier = lines().length;
    const reply = await post(`${stack.base}/v2/models/logged-file/infer`);
    assert.equal(reply.status, 200);
    await waitFor('the lines', () => lines().length >= earlier + 2, 5_000);
    assert.equal(lines().length, earlier + 2);
    const events = lines()
      .slice(-2)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => e.type),
      ['io.switchyard.inference.request', 'io.switchyard.inference.response'],
    );
    for (const e of events) {
      assert.equal(e.specversion, '1.0');
      assert.equal(e.source, 'switchyard/default/logged-file');
      assert.equal(e.datacontenttype, 'application/json');
    }
    assert.equal(events[0]?.id, events[1]?.id);
    assert.equal(events[0]?.id, models.requests.at(-1)?.headers['x-request-id']);
    assert.deepEqual(events[1]?.data, reply.json);
  });

  test('sample 0: nothing is sent', async () => {
    sink.requests.length = 0;
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await post(`${stack.base}/v2/models/unsampled/infer`)).status, 200);
    }
    // A sampled request's events reach the sink within milliseconds; give them ample time.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.requests.length, 0);
  });

  test('a dead sink: requests still answer 200, and the drops are counted', async () => {
    const before = droppedCount(await registry.metrics(), 'dead-sink');
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await post(`${stack.base}/v2/models/dead-sink/infer`)).status, 200);
    }
    await waitFor(
      'ten drops',
      async () => droppedCount(await registry.metrics(), 'dead-sink') >= before + 10,
      5_000,
    );
  });
});
