import type http2 from 'node:http2';
import type { ExecutionPlan } from '../../plan/execution.ts';
import { answerRequest } from '../interpreter/graph-answer.ts';
import type { GraphResult, RunServices } from '../interpreter/graph-run.ts';
import type { RunObserver } from '../interpreter/run-observer.ts';

/** What identifies a request across Envoy and the executor. */
export interface TraceContext {
  /** W3C trace context: Envoy's span, when Envoy traces. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Envoy's x-request-id. */
  readonly requestId?: string;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** The trace context of a request's HTTP/2 headers, or of an ext_proc stream's metadata. */
export function traceContextOf(headers: http2.IncomingHttpHeaders): TraceContext {
  const traceparent = firstValue(headers.traceparent);
  const tracestate = firstValue(headers.tracestate);
  const requestId = firstValue(headers['x-request-id']);
  return {
    ...(traceparent !== undefined && { traceparent }),
    ...(tracestate !== undefined && { tracestate }),
    ...(requestId !== undefined && { requestId }),
  };
}

/** One request, watched from its whole body to its answer. */
export interface RequestWatch {
  readonly observer?: RunObserver;
  /** The request was answered with `status` (200 for a hand-off back to Envoy), as `result` says. */
  end(status: number, result?: GraphResult): void;
}

/** What a graph request brought: only observers that log payloads read it. */
export interface GraphRequestSeen {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** Metrics, traces: each starts a watch per graph request. */
export interface RequestTelemetry {
  start(plan: ExecutionPlan, trace: TraceContext, request?: GraphRequestSeen): RequestWatch;
  /** A request whose plan header could not be read. */
  refused?(): void;
}

function both(first: RunObserver, second: RunObserver): RunObserver {
  return {
    nodeCall(node, headers) {
      const endFirst = first.nodeCall(node, headers);
      const endSecond = second.nodeCall(node, headers);
      return (status, soft) => {
        endFirst(status, soft);
        endSecond(status, soft);
      };
    },
    combined(node, seconds) {
      first.combined(node, seconds);
      second.combined(node, seconds);
    },
  };
}

function watchAll(
  telemetry: readonly RequestTelemetry[],
  plan: ExecutionPlan,
  trace: TraceContext,
  request?: GraphRequestSeen,
): RequestWatch {
  const watches = telemetry.map((t) => t.start(plan, trace, request));
  const observers = watches.flatMap((w) => (w.observer ? [w.observer] : []));
  const observer = observers.reduce<RunObserver | undefined>(
    (sum, next) => (sum ? both(sum, next) : next),
    undefined,
  );
  return {
    ...(observer && { observer }),
    end(status, result) {
      for (const watch of watches) watch.end(status, result);
    },
  };
}

export function resultStatus(result: GraphResult): number {
  return result.kind === 'answer' ? result.status : 200;
}

/**
 * answerRequest, watched by each of `telemetry` (none: exactly
 * answerRequest). Never rejects, as answerRequest.
 */
export async function answerWatched(
  telemetry: readonly RequestTelemetry[],
  trace: TraceContext,
  plan: ExecutionPlan,
  headers: ReadonlyMap<string, string>,
  body: Buffer,
  services: RunServices,
  log: (message: string) => void,
): Promise<GraphResult> {
  if (telemetry.length === 0) return answerRequest(plan, headers, body, services, log);
  const watch = watchAll(telemetry, plan, trace, { headers, body });
  const watched = watch.observer ? { ...services, observer: watch.observer } : services;
  const result = await answerRequest(plan, headers, body, watched, log);
  watch.end(resultStatus(result), result);
  return result;
}

/** A request answered before it ran (too large): counted, with nothing to observe inside. */
export function answeredAtOnce(
  telemetry: readonly RequestTelemetry[],
  trace: TraceContext,
  plan: ExecutionPlan,
  result: GraphResult,
): GraphResult {
  if (telemetry.length > 0) watchAll(telemetry, plan, trace).end(resultStatus(result), result);
  return result;
}
