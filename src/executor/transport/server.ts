import { randomUUID } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import type protobuf from 'protobufjs';
import {
  EXECUTOR_READINESS_PATH,
  EXECUTOR_REPLY_DETAILS,
  PLAN_HEADER,
  PLAN_REFERENCE_HEADER,
} from '../../plan/execution.ts';
import { errorBody } from '../../protocols/error-body.ts';
import type { RunServices } from '../interpreter/graph-run.ts';
import { startBidiServer, type BidiCall, type BidiHandler } from './grpc-bidi-server.ts';
import { GrpcStatus } from './grpc-framing.ts';
import { HopClient } from './hop-client.ts';
import { PlanCache } from '../interpreter/plan-cache.ts';
import { ReferencedPlans, type PlanLookup } from '../interpreter/referenced-plans.ts';
import { subscribeToPlans, type ControlPlaneTarget } from './plan-subscription.ts';
import { http1Exchange, http2Exchange, serveUpstreamRequest } from './upstream-request.ts';
import { RequestProcessor, responseEncoder, type ProcessingRequest } from './processor.ts';
import { traceContextOf, type RequestTelemetry } from './request-telemetry.ts';

const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** Bodies travel in ext_proc messages: a graph's maxRequestBytes bounds them, this only guards. */
const maxMessageBytes = 1024 * 1024 * 1024;

export interface ExecutorOptions {
  readonly host: string;
  readonly port: number;
  /** Envoy's hop listener, e.g. http://127.0.0.1:10001. */
  readonly hopUrl: string;
  /** A Unix socket to listen on instead of `host` and `port` (envoy/sockets.ts). */
  readonly socket?: string;
  /** Envoy's hop listener as a Unix socket, instead of `hopUrl`. */
  readonly hopSocket?: string;
  /** The most of one node's answer the executor holds; DEFAULT_MAX_ANSWER_BYTES if unset. */
  readonly maxAnswerBytes?: number;
  /** Serve Envoy over TLS with this certificate and key (its routes and its ext_proc service alike). */
  readonly tls?: SecureContextOptions;
  /**
   * The control plane whose xDS server delivers the plans routes name by
   * reference (plans too large for a header); without it, such routes are
   * answered 503.
   */
  readonly controlPlane?: ControlPlaneTarget;
  readonly log?: (message: string) => void;
  /** Metrics and traces of each graph request; none by default. */
  readonly telemetry?: readonly RequestTelemetry[];
}

export interface Executor {
  /** The port listened on; 0 on a Unix socket. */
  readonly port: number;
  /** A rotated certificate and key, for the connections Envoy opens from now on. */
  setTls(tls: SecureContextOptions): void;
  stop(): Promise<void>;
}

function immediateError(root: protobuf.Root, status: number, reason: string): Uint8Array {
  return responseEncoder(root).encode({
    immediate_response: {
      status: { code: status },
      headers: {
        set_headers: [
          { header: { key: 'content-type', raw_value: Buffer.from('application/json') } },
        ],
      },
      body: Buffer.from(errorBody({ node: 'executor', status, reason })),
      details: EXECUTOR_REPLY_DETAILS,
    },
  });
}

/**
 * Where a request's plan is: in its header, parsed once per distinct text;
 * or named by hash, from the control plane (waited for, briefly, if not
 * here yet). A promise only when it must be waited for.
 */
export class PlanSource {
  readonly inline = new PlanCache();
  readonly referenced: ReferencedPlans;

  constructor(referenced: ReferencedPlans) {
    this.referenced = referenced;
  }

  /** `undefined` when the request names no plan at all. */
  of(
    header: string | undefined,
    reference: string | undefined,
  ): PlanLookup | Promise<PlanLookup> | undefined {
    if (reference !== undefined)
      return this.referenced.get(reference) ?? this.referenced.wait(reference);
    if (header === undefined) return undefined;
    const plan = this.inline.get(header);
    return plan.ok ? plan : { ok: false, status: 502, reason: plan.reason };
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The executor: Envoy's upstream for graphs it answers (HTTP/1.1 or
 * HTTP/2), and the ExternalProcessor gRPC service for graphs that may hand
 * a request back to Envoy (HTTP/2), on one port. Every request or stream brings its plan in a
 * header set by the route Envoy matched, or the plan's hash, for a plan the
 * executor has from the control plane.
 */
export async function startExecutor(
  root: protobuf.Root,
  options: ExecutorOptions,
): Promise<Executor> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const requestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const hops = new HopClient(options.hopUrl, options.maxAnswerBytes, options.hopSocket);
  const services: RunServices = {
    hops,
    random: Math.random,
    newId: () => randomUUID().replaceAll('-', ''),
  };
  const { controlPlane } = options;
  const referenced = new ReferencedPlans(
    controlPlane && { source: `the control plane at ${controlPlane.address}` },
  );
  const subscription = controlPlane && subscribeToPlans(root, controlPlane, referenced, log);
  const plans = new PlanSource(referenced);
  const telemetry = options.telemetry ?? [];
  const upstream = { plans, services, telemetry, log };
  const handlerFor = (call: BidiCall, plan: PlanLookup | undefined): BidiHandler => {
    if (!plan?.ok) {
      const status = plan?.status ?? 404;
      const reason =
        plan?.reason ??
        `this is the Switchyard executor: ext_proc streams reach it from Envoy's routes, which set ${PLAN_HEADER} or ${PLAN_REFERENCE_HEADER}`;
      log(`executor: ${reason}`);
      for (const t of telemetry) t.refused?.();
      // Answer the first message with the error; Envoy sends nothing else before it is answered.
      return {
        message: () => {
          call.write(immediateError(root, status, reason));
          call.end();
        },
        end: () => {
          call.end();
        },
      };
    }
    const finish = () => {
      call.end();
    };
    // Envoy's ext_proc filter sends its span's context as the stream's metadata.
    const trace = traceContextOf(call.metadata);
    const processor = new RequestProcessor(
      root,
      plan.value,
      { services, telemetry, trace },
      (message) => {
        call.write(message);
      },
      finish,
      log,
    );
    return {
      message: (bytes) => {
        let request: ProcessingRequest;
        try {
          request = requestType.decode(bytes) as ProcessingRequest;
        } catch (error) {
          call.fail(GrpcStatus.INVALID_ARGUMENT, `not a ProcessingRequest: ${String(error)}`);
          return;
        }
        processor.handle(request).catch((error: unknown) => {
          log(
            `executor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          );
          call.fail(GrpcStatus.INTERNAL, 'the executor failed');
        });
      },
      end: finish,
    };
  };
  const server = await startBidiServer({
    host: options.host,
    port: options.port,
    ...(options.socket !== undefined && { socket: options.socket }),
    ...(options.tls && { tls: options.tls }),
    path: PROCESS_PATH,
    maxMessageBytes,
    otherPaths: (stream, headers) => {
      if (headers[':path'] === EXECUTOR_READINESS_PATH && headers[':method'] === 'GET') {
        stream.respond({ ':status': 200, 'content-length': 0 });
        stream.end();
        return;
      }
      serveUpstreamRequest(http2Exchange(stream, headers), upstream);
    },
    http1: (request, response) => {
      if (request.url === EXECUTOR_READINESS_PATH && request.method === 'GET') {
        response.writeHead(200, { 'content-length': 0 }).end();
        return;
      }
      serveUpstreamRequest(http1Exchange(request, response), upstream);
    },
    open: (call) => {
      const plan = plans.of(
        first(call.metadata[PLAN_HEADER]),
        first(call.metadata[PLAN_REFERENCE_HEADER]),
      );
      if (!(plan instanceof Promise)) return handlerFor(call, plan);
      // Envoy's messages wait, in order, for the plan the stream names.
      const early: Buffer[] = [];
      let ended = false;
      let handler: BidiHandler | undefined;
      void plan.then((found) => {
        handler = handlerFor(call, found);
        for (const message of early) handler.message(message);
        if (ended) handler.end();
      });
      return {
        message: (bytes) => {
          if (handler) handler.message(bytes);
          else early.push(bytes);
        },
        end: () => {
          if (handler) handler.end();
          else ended = true;
        },
      };
    },
  });
  return {
    port: server.port,
    setTls(tls) {
      server.setSecureContext(tls);
    },
    async stop() {
      subscription?.close();
      await server.close();
      await hops.close();
    },
  };
}
