import type http2 from 'node:http2';
import { PLAN_HEADER } from '../../plan/execution.ts';
import { errorBody } from '../../protocols/error-body.ts';
import { errorResult, tooLarge } from '../interpreter/graph-answer.ts';
import { endRequestSide } from './grpc-bidi-server.ts';
import { headerMap } from './header-map.ts';
import type { GraphResult, RunServices } from '../interpreter/graph-run.ts';
import type { PlanCache } from '../interpreter/plan-cache.ts';
import {
  answeredAtOnce,
  answerWatched,
  traceContextOf,
  type RequestTelemetry,
} from './request-telemetry.ts';

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

/**
 * A request Envoy routed to the executor as to any upstream: the route set
 * its plan in a header, the body streams in, and the executor answers it.
 */
export function serveUpstreamRequest(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  context: {
    readonly plans: PlanCache;
    readonly services: RunServices;
    readonly telemetry: readonly RequestTelemetry[];
    readonly log: (message: string) => void;
  },
): void {
  const { plans, services, telemetry, log } = context;
  const planText = headers[PLAN_HEADER];
  if (typeof planText !== 'string') {
    respond(
      stream,
      errorAnswer(
        404,
        `this is the Switchyard executor: requests reach it through Envoy's routes, which set ${PLAN_HEADER}`,
      ),
    );
    return;
  }
  const plan = plans.get(planText);
  if (!plan.ok) {
    log(`executor: ${plan.reason}`);
    for (const t of telemetry) t.refused?.();
    respond(stream, errorAnswer(502, plan.reason));
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
