import type http2 from 'node:http2';
import { PLAN_HEADER, PLAN_REFERENCE_HEADER } from '../../plan/execution.ts';
import { errorBody } from '../../protocols/error-body.ts';
import { errorResult, tooLarge } from '../interpreter/graph-answer.ts';
import { endRequestSide } from './grpc-bidi-server.ts';
import { headerMap } from './header-map.ts';
import type { GraphResult, RunServices } from '../interpreter/graph-run.ts';
import type { PlanLookup } from '../interpreter/referenced-plans.ts';
import {
  answeredAtOnce,
  answerWatched,
  traceContextOf,
  type RequestTelemetry,
} from './request-telemetry.ts';
import type { PlanSource } from './server.ts';

function errorAnswer(status: number, reason: string) {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    // Before the plan is read, the executor itself is the node that refuses.
    body: errorBody({ node: 'executor', status, reason }),
  };
}

function respond(
  stream: http2.ServerHttp2Stream,
  answer: { status: number; headers: http2.OutgoingHttpHeaders; body: Buffer | string },
): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({
    ...answer.headers,
    ':status': answer.status,
    'content-length': Buffer.byteLength(answer.body),
  });
  stream.end(answer.body);
  // Answered before the request ended (too large): the rest of the body is not wanted.
  if (!stream.readableEnded) endRequestSide(stream);
}

function respondResult(stream: http2.ServerHttp2Stream, result: GraphResult): void {
  if (result.kind !== 'answer') {
    respond(
      stream,
      errorAnswer(502, 'the plan hands the request off, which only an ext_proc route can do'),
    );
    return;
  }
  const headers: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of result.headers) {
    const earlier = headers[name];
    headers[name] = earlier === undefined ? value : `${String(earlier)}, ${value}`;
  }
  respond(stream, { status: result.status, headers, body: result.body });
}

function header(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

interface UpstreamContext {
  readonly plans: PlanSource;
  readonly services: RunServices;
  readonly telemetry: readonly RequestTelemetry[];
  readonly log: (message: string) => void;
}

/**
 * A request Envoy routed to the executor as to any upstream: the route set
 * its plan in a header (or named it by hash), the body streams in, and the
 * executor answers it.
 */
export function serveUpstreamRequest(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  context: UpstreamContext,
): void {
  const plan = context.plans.of(
    header(headers, PLAN_HEADER),
    header(headers, PLAN_REFERENCE_HEADER),
  );
  if (plan === undefined) {
    respond(
      stream,
      errorAnswer(
        404,
        `this is the Switchyard executor: requests reach it through Envoy's routes, which set ${PLAN_HEADER} or ${PLAN_REFERENCE_HEADER}`,
      ),
    );
    return;
  }
  if (!(plan instanceof Promise)) {
    serveWithPlan(stream, headers, plan, context);
    return;
  }
  // The body waits in the stream's buffer (flow control holds the rest) until the plan is here.
  stream.pause();
  void plan.then((found) => {
    serveWithPlan(stream, headers, found, context);
    stream.resume();
  });
}

function serveWithPlan(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  plan: PlanLookup,
  context: UpstreamContext,
): void {
  const { services, telemetry, log } = context;
  if (!plan.ok) {
    log(`executor: ${plan.reason}`);
    for (const t of telemetry) t.refused?.();
    respond(stream, errorAnswer(plan.status, plan.reason));
    return;
  }
  // Envoy's router sends its span's context with the request.
  const trace = traceContextOf(headers);
  const refuse = (bytes: number) => {
    const refused = errorResult(plan.value, tooLarge(plan.value, bytes));
    respondResult(stream, answeredAtOnce(telemetry, trace, plan.value, refused));
  };
  const limit = plan.value.maxBodyBytes;
  const declared = Number(headers['content-length'] ?? '0');
  if (declared > limit) {
    refuse(declared);
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= limit) {
      chunks.push(chunk);
      return;
    }
    stream.off('data', onData);
    refuse(received);
  };
  stream.on('data', onData);
  stream.once('end', () => {
    if (received > limit) return;
    const body = chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks);
    // answerRequest never rejects: every failure is an answer in the error shape.
    void answerWatched(telemetry, trace, plan.value, headerMap(headers), body, services, log).then(
      (result) => {
        respondResult(stream, result);
      },
    );
  });
}
