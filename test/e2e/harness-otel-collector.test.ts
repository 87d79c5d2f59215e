import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { postOtlpJson, startTestCollector, type TestCollector } from '../support/otel-collector.ts';

let collector: TestCollector;

before(async () => {
  collector = await startTestCollector();
});

after(async () => {
  await collector.stop();
});

test('the OpenTelemetry Collector receives a span over OTLP/HTTP and the harness reads it back', async () => {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const now = BigInt(Date.now()) * 1_000_000n;
  const status = await postOtlpJson(collector, {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'harness' } }] },
        scopeSpans: [
          {
            scope: { name: 'switchyard-harness' },
            spans: [
              {
                traceId,
                spanId,
                name: 'graph request',
                kind: 2,
                startTimeUnixNano: String(now),
                endTimeUnixNano: String(now + 1_500_000n),
                attributes: [
                  { key: 'switchyard.graph', value: { stringValue: 'canary' } },
                  { key: 'switchyard.steps', value: { intValue: '3' } },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
  assert.equal(status, 200);
  const spans = await collector.waitForSpans((received) =>
    received.some((span) => span.spanId === spanId),
  );
  const span = spans.find((received) => received.spanId === spanId);
  assert.deepEqual(span, {
    traceId,
    spanId,
    name: 'graph request',
    kind: 2,
    attributes: { 'switchyard.graph': 'canary', 'switchyard.steps': 3 },
    serviceName: 'harness',
  });
});
