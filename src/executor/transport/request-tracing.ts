import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ExecutionPlan } from '../../plan/execution.ts';
import type { RequestTelemetry, RequestWatch, TraceContext } from './request-telemetry.ts';

const propagator = new W3CTraceContextPropagator();

function ended(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/**
 * A span per graph request, the child of the span Envoy sent in
 * `traceparent`, and a span per node call under it, whose context goes to
 * the node in `traceparent`: Envoy's hop span, and the node's own, hang
 * under it. Names and attributes come from the plan, never from a payload.
 */
export class RequestTracing implements RequestTelemetry {
  readonly #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  start(plan: ExecutionPlan, context: TraceContext): RequestWatch {
    const tracer = this.#tracer;
    const parent = propagator.extract(ROOT_CONTEXT, context, defaultTextMapGetter);
    const graph = plan.graph;
    const graphSpan = tracer.startSpan(
      `graph ${graph}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'switchyard.graph': graph,
          ...(context.requestId !== undefined && { 'switchyard.request_id': context.requestId }),
        },
      },
      parent,
    );
    const inGraph = trace.setSpan(ROOT_CONTEXT, graphSpan);
    return {
      observer: {
        nodeCall(node, headers) {
          const span = tracer.startSpan(
            `step ${node}`,
            {
              kind: SpanKind.CLIENT,
              attributes: { 'switchyard.graph': graph, 'switchyard.node': node },
            },
            inGraph,
          );
          // The request's own trace headers were copied in; the node's parent is this step.
          delete headers.tracestate;
          propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
          return (status, soft) => {
            if (soft) span.setAttribute('switchyard.soft_failure', true);
            ended(span, status);
          };
        },
        combined(node, seconds) {
          graphSpan.addEvent('combined', { 'switchyard.node': node, 'duration.seconds': seconds });
        },
      },
      end(status) {
        ended(graphSpan, status);
      },
    };
  }
}
