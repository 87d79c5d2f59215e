import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { otelCollectorBinary } from '../../scripts/setup/otel-collector.ts';
import { freePort } from './ports.ts';
import { startServerProcess, waitFor } from './server-process.ts';

/** One span as the collector received it (OTLP/JSON field names). */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind?: number;
  readonly attributes: Record<string, unknown>;
  /** The resource's service.name. */
  readonly serviceName?: string;
}

/** A real OpenTelemetry Collector on loopback that writes every trace it receives to a file. */
export interface TestCollector {
  /** http://127.0.0.1:<port>; OTLP/HTTP posts go to `${otlpHttpUrl}/v1/traces`. */
  readonly otlpHttpUrl: string;
  /** 127.0.0.1:<port>, for OTLP/gRPC exporters (Envoy's OpenTelemetry tracer, the Node SDK). */
  readonly otlpGrpcAddress: string;
  /** Every span written so far (the file exporter flushes about every 100 ms). */
  spans(): Promise<ReceivedSpan[]>;
  /** Polls `spans()` until `enough` holds, for at most `timeoutMs`. */
  waitForSpans(
    enough: (spans: ReceivedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedSpan[]>;
  output(): string;
  stop(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}

function valueOf(value: AnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  return value;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, valueOf(entry.value)]));
}

interface ExportedTraces {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: KeyValue[];
      }[];
    }[];
  }[];
}

/** The file exporter writes one OTLP/JSON export request per line. */
export function spansOfExportLines(text: string): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const exported = JSON.parse(line) as ExportedTraces;
    for (const resource of exported.resourceSpans ?? []) {
      const serviceName = attributesOf(resource.resource?.attributes)['service.name'];
      for (const scope of resource.scopeSpans ?? [])
        for (const span of scope.spans ?? [])
          spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            ...(span.parentSpanId !== undefined &&
              span.parentSpanId !== '' && { parentSpanId: span.parentSpanId }),
            name: span.name,
            ...(span.kind !== undefined && { kind: span.kind }),
            attributes: attributesOf(span.attributes),
            ...(typeof serviceName === 'string' && { serviceName }),
          });
    }
  }
  return spans;
}

export async function startTestCollector(): Promise<TestCollector> {
  const binary = otelCollectorBinary();
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-otelcol-'));
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const spansFile = join(dir, 'spans.jsonl');
  const configFile = join(dir, 'config.yaml');
  await writeFile(
    configFile,
    stringify({
      receivers: {
        otlp: {
          protocols: {
            grpc: { endpoint: `127.0.0.1:${String(grpcPort)}` },
            http: { endpoint: `127.0.0.1:${String(httpPort)}` },
          },
        },
      },
      exporters: { file: { path: spansFile, flush_interval: '100ms' } },
      service: {
        // Its own metrics would listen on port 8888; tests need no second copy of that port.
        telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
        pipelines: { traces: { receivers: ['otlp'], exporters: ['file'] } },
      },
    }),
  );
  const collector = startServerProcess('otel-collector', binary, [`--config=${configFile}`]);
  const otlpHttpUrl = `http://127.0.0.1:${String(httpPort)}`;
  const stop = async (): Promise<void> => {
    await collector.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the collector to log that it is ready',
      () => Promise.resolve(collector.output().includes('Everything is ready') ? true : undefined),
      { timeoutMs: 60_000, processes: [collector] },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const spans = async (): Promise<ReceivedSpan[]> => {
    try {
      return spansOfExportLines(await readFile(spansFile, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  };
  return {
    otlpHttpUrl,
    otlpGrpcAddress: `127.0.0.1:${String(grpcPort)}`,
    spans,
    async waitForSpans(enough, timeoutMs = 15_000) {
      return waitFor(
        'the expected spans at the collector',
        async () => {
          const received = await spans();
          return enough(received) ? received : undefined;
        },
        { timeoutMs, intervalMs: 100, processes: [collector] },
      );
    },
    output: () => collector.output(),
    stop,
  };
}

/** Posts OTLP/JSON to the collector's HTTP receiver (what an exporter does, without an SDK). */
export async function postOtlpJson(collector: TestCollector, body: unknown): Promise<number> {
  const response = await request(`${collector.otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.body.text();
  return response.statusCode;
}
