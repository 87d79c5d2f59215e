import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { otlpEndpoint } from '../../src/envoy/options.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { post, waitForAnswers } from '../support/http.ts';
import {
  startTestCollector,
  type ReceivedSpan,
  type TestCollector,
} from '../support/otel-collector.ts';
import { startExecutorProcess } from '../support/executor-process.ts';
import { freePort } from '../support/ports.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { arithmeticModels, writeBothWaysIn } from '../support/two-step-graphs.ts';

/**
 * Traces with a real OpenTelemetry Collector: `switchyard executor
 * --otlp-endpoint` and a control plane whose listener options turn on
 * Envoy's OpenTelemetry tracer, both sending to the same collector. A
 * request yields one trace: Envoy's span, the executor's graph span under
 * it, a step span per node call under that, and Envoy's hop span under each
 * step.
 */

const input = { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] };

describe('a request through Envoy and the executor is one trace', () => {
  let collector: TestCollector;
  let models: ScriptedServer;
  let controlPlane: ControlPlane;
  let envoy: RunningEnvoy;
  let base: string;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    collector = await startTestCollector();
    cleanups.push(() => collector.stop());
    models = await startScriptedServer(arithmeticModels);
    cleanups.push(() => models.stop());
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-tracing-'));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
    writeBothWaysIn(dir, models.address);
    const listenerPort = await freePort();
    const hopPort = await freePort();
    const executorPort = await freePort();
    const executor = await startExecutorProcess(1, [
      '--port',
      String(executorPort),
      '--hop-url',
      `http://127.0.0.1:${String(hopPort)}`,
      '--otlp-endpoint',
      collector.otlpHttpUrl,
    ]);
    cleanups.push(() => executor.stop());
    const otlp = otlpEndpoint(collector.otlpHttpUrl);
    assert.ok(otlp);
    controlPlane = await startControlPlane({
      graphsDir: dir,
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      log: () => undefined,
      listener: {
        address: '127.0.0.1',
        port: listenerPort,
        hopPort,
        executor: { address: '127.0.0.1', port: executorPort, workers: 1 },
        otlp,
      },
    });
    cleanups.push(() => controlPlane.stop());
    envoy = await startEnvoyProcess({
      bootstrap: bootstrapConfig({
        nodeId: 'e2e-tracing',
        nodeCluster: 'switchyard',
        xdsAddress: '127.0.0.1',
        xdsPort: controlPlane.xdsPort,
        adminPort: await freePort(),
      }),
      name: 'tracing',
    });
    cleanups.push(() => envoy.stop());
    base = `http://127.0.0.1:${String(listenerPort)}/v2/models`;
    await waitForAnswers([`${base}/hand/infer`, `${base}/whole/infer`], input);
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A client's trace context: the trace a request starts in, and its span. */
  function clientTrace() {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
  }

  /** The spans of trace `traceId` once they hold `steps` step spans and Envoy's hop span under each. */
  async function traceOf(
    client: { traceId: string; spanId: string },
    steps: number,
  ): Promise<ReceivedSpan[]> {
    const traceId = client.traceId;
    const whole = (spans: ReceivedSpan[]) => {
      const inTrace = spans.filter((s) => s.traceId === traceId);
      const stepIds = new Set(
        inTrace.filter((s) => s.name.startsWith('step ')).map((s) => s.spanId),
      );
      const hops = inTrace.filter((s) => stepIds.has(s.parentSpanId ?? ''));
      // Envoy sends a span when its request ends, in batches: the ingress span comes last.
      const ids = new Set(inTrace.map((s) => s.spanId));
      const graphSpan = inTrace.find((s) => s.name.startsWith('graph '));
      const parentCame = graphSpan !== undefined && ids.has(graphSpan.parentSpanId ?? '');
      const ingressCame = inTrace.some((s) => s.parentSpanId === client.spanId);
      return stepIds.size === steps && hops.length === steps && parentCame && ingressCame;
    };
    const spans = await collector.waitForSpans(whole, 20_000);
    return spans.filter((s) => s.traceId === traceId);
  }

  function check(
    spans: ReceivedSpan[],
    client: { spanId: string },
    graph: string,
    nodes: readonly string[],
  ): void {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const graphSpan = spans.find((s) => s.name === `graph ${graph}`);
    assert.ok(graphSpan, 'the executor sent its graph span');
    assert.equal(graphSpan.serviceName, 'switchyard-executor');
    // The graph span hangs under Envoy's: the ingress span, or its ext_proc call's.
    const parent = byId.get(graphSpan.parentSpanId ?? '');
    assert.equal(parent?.serviceName, 'envoy', "the graph span's parent is Envoy's span");
    const ingress = spans.find((s) => s.parentSpanId === client.spanId);
    assert.equal(
      ingress?.serviceName,
      'envoy',
      "Envoy's ingress span continues the client's trace",
    );
    assert.equal(typeof graphSpan.attributes['switchyard.request_id'], 'string');
    for (const node of nodes) {
      const step = spans.find((s) => s.name === `step ${node}`);
      assert.ok(step, `a span for step ${node}`);
      assert.equal(
        step.parentSpanId,
        graphSpan.spanId,
        `step ${node} is a child of the graph span`,
      );
      assert.equal(step.attributes['switchyard.node'], node);
      const hop = spans.find((s) => s.parentSpanId === step.spanId);
      assert.equal(
        hop?.serviceName,
        'envoy',
        `Envoy's hop span for ${node} is a child of its step`,
      );
    }
  }

  test('an upstream graph: Envoy → graph span → a step span per node → Envoy hop spans', async () => {
    const client = clientTrace();
    const reply = await post(`${base}/whole/infer`, input, { traceparent: client.traceparent });
    assert.equal(reply.status, 200);
    check(await traceOf(client, 2), client, 'default/whole', ['add', 'mul']);
  });

  test('an ext_proc graph: the executor joins the trace through the stream Envoy opens', async () => {
    const client = clientTrace();
    const reply = await post(`${base}/hand/infer`, input, { traceparent: client.traceparent });
    assert.equal(reply.status, 200);
    check(await traceOf(client, 1), client, 'default/hand', ['add']);
  });
});
