import type http from 'node:http';
import type http2 from 'node:http2';
import type { Readable } from 'node:stream';
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

interface Answer {
  readonly status: number;
  readonly headers: http.OutgoingHttpHeaders;
  readonly body: Buffer | string;
}

/** One request Envoy routed to the executor as to any upstream, over HTTP/1.1 or HTTP/2. */
export interface UpstreamExchange {
  /** Lowercased, as they came. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The headers as the interpreter reads them: with HTTP/2's pseudo-headers. */
  headerMap(): Map<string, string>;
  readonly body: Readable;
  /** Answers once; later calls, or calls after the client went away, do nothing. */
  respond(answer: Answer): void;
}

export function http2Exchange(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
): UpstreamExchange {
  return {
    headers,
    headerMap: () => headerMap(headers),
    body: stream,
    respond(answer) {
      if (stream.destroyed || stream.headersSent) return;
      stream.respond({
        ...answer.headers,
        ':status': answer.status,
        'content-length': Buffer.byteLength(answer.body),
      });
      stream.end(answer.body);
      // Answered before the request ended (too large): the rest of the body is not wanted.
      if (!stream.readableEnded) endRequestSide(stream);
    },
  };
}

export function http1Exchange(
  request: http.IncomingMessage,
  response: http.ServerResponse,
): UpstreamExchange {
  return {
    headers: request.headers,
    headerMap() {
      const map = headerMap(request.headers);
      map.set(':method', request.method ?? '');
      map.set(':path', request.url ?? '');
      map.set(':authority', request.headers.host ?? '');
      return map;
    },
    body: request,
    respond(answer) {
      if (response.destroyed || response.headersSent) return;
      response.writeHead(answer.status, {
        ...answer.headers,
        'content-length': Buffer.byteLength(answer.body),
        // Answered before the request ended (too large): reading the rest to reuse the connection is not worth it.
        ...(!request.complete && { connection: 'close' }),
      });
      response.end(answer.body);
    },
  };
}

function respondResult(exchange: UpstreamExchange, result: GraphResult): void {
  if (result.kind !== 'answer') {
    exchange.respond(
      errorAnswer(502, 'the plan hands the request off, which only an ext_proc route can do'),
    );
    return;
  }
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of result.headers) {
    const earlier = headers[name];
    headers[name] = earlier === undefined ? value : `${String(earlier)}, ${value}`;
  }
  exchange.respond({ status: result.status, headers, body: result.body });
}

function header(headers: UpstreamExchange['headers'], name: string): string | undefined {
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
export function serveUpstreamRequest(exchange: UpstreamExchange, context: UpstreamContext): void {
  const { headers } = exchange;
  const plan = context.plans.of(
    header(headers, PLAN_HEADER),
    header(headers, PLAN_REFERENCE_HEADER),
  );
  if (plan === undefined) {
    exchange.respond(
      errorAnswer(
        404,
        `this is the Switchyard executor: requests reach it through Envoy's routes, which set ${PLAN_HEADER} or ${PLAN_REFERENCE_HEADER}`,
      ),
    );
    return;
  }
  if (!(plan instanceof Promise)) {
    serveWithPlan(exchange, plan, context);
    return;
  }
  // The body waits in the connection's buffer (flow control holds the rest) until the plan is here.
  exchange.body.pause();
  void plan.then((found) => {
    serveWithPlan(exchange, found, context);
    exchange.body.resume();
  });
}

function serveWithPlan(
  exchange: UpstreamExchange,
  plan: PlanLookup,
  context: UpstreamContext,
): void {
  const { headers, body: requestBody } = exchange;
  const { services, telemetry, log } = context;
  if (!plan.ok) {
    log(`executor: ${plan.reason}`);
    for (const t of telemetry) t.refused?.();
    exchange.respond(errorAnswer(plan.status, plan.reason));
    return;
  }
  // Envoy's router sends its span's context with the request.
  const trace = traceContextOf(headers);
  const refuse = (bytes: number) => {
    const refused = errorResult(plan.value, tooLarge(plan.value, bytes));
    respondResult(exchange, answeredAtOnce(telemetry, trace, plan.value, refused));
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
    requestBody.off('data', onData);
    refuse(received);
  };
  requestBody.on('data', onData);
  requestBody.once('end', () => {
    if (received > limit) return;
    const body = chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks);
    // answerRequest never rejects: every failure is an answer in the error shape.
    void answerWatched(
      telemetry,
      trace,
      plan.value,
      exchange.headerMap(),
      body,
      services,
      log,
    ).then((result) => {
      respondResult(exchange, result);
    });
  });
}
