import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface Tracing {
  readonly tracer: Tracer;
  /** Sends the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry's Node SDK, exporting OTLP/HTTP (protobuf) to `baseUrl`'s
 * /v1/traces in batches. Not registered globally: whoever traces is handed
 * the tracer, and parents its spans explicitly, so no context manager
 * follows every promise.
 */
export function startTracing(baseUrl: string, serviceName: string): Tracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${baseUrl.replace(/\/$/, '')}/v1/traces` }),
        // Spans leave within half a second: a trace is whole soon after its request.
        { scheduledDelayMillis: 500 },
      ),
    ],
  });
  return {
    tracer: provider.getTracer('switchyard'),
    shutdown: () => provider.shutdown(),
  };
}
