import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { Counter, type Registry } from 'prom-client';
import { Agent } from 'undici';
import type { ExecutionPlan, PayloadLogPlan } from '../../plan/execution.ts';
import { SELDON_FEEDBACK_PATH } from '../../protocols/paths.ts';
import type { GraphResult } from '../interpreter/graph-run.ts';
import { payloadEvents, type PayloadEvent } from './payload-events.ts';
import type {
  GraphRequestSeen,
  RequestTelemetry,
  RequestWatch,
  TraceContext,
} from './request-telemetry.ts';

export interface PayloadLogOptions {
  /** Uniform in [0, 1): which requests are sampled. */
  readonly random?: () => number;
  /** The executor's metrics registry: the drop counter is registered there; none: drops are not counted. */
  readonly registry?: Registry;
  /** Events a sink holds while it sends; more are dropped. */
  readonly queueLimit?: number;
  /** How long one POST to an HTTP sink may take before it counts as dropped. */
  readonly timeoutMs?: number;
  /** A sink's POSTs at once. */
  readonly concurrency?: number;
  readonly log?: (message: string) => void;
}

type DropReason = 'queue-full' | 'failed';

const NOTHING: RequestWatch = { end: () => undefined };

/** Seldon feedback rides the graph's plan, but is no inference: it is not logged. */
function isFeedback(request: GraphRequestSeen): boolean {
  return (request.headers.get(':path') ?? '').split('?', 1)[0] === SELDON_FEEDBACK_PATH;
}

/**
 * One sink, with a bounded queue in front: events wait here while a sink is
 * slow, and are dropped (counted) when it is full or a send fails. Nothing
 * of it is awaited by a request.
 */
class BoundedSink {
  readonly #queue: PayloadEvent[] = [];
  #inFlight = 0;
  readonly #send: (event: PayloadEvent) => Promise<void>;
  readonly #limit: number;
  readonly #concurrency: number;
  readonly #dropped: (reason: DropReason, why?: string) => void;

  constructor(
    send: (event: PayloadEvent) => Promise<void>,
    limit: number,
    concurrency: number,
    dropped: (reason: DropReason, why?: string) => void,
  ) {
    this.#send = send;
    this.#limit = limit;
    this.#concurrency = concurrency;
    this.#dropped = dropped;
  }

  offer(event: PayloadEvent): void {
    if (this.#queue.length >= this.#limit) {
      this.#dropped('queue-full');
      return;
    }
    this.#queue.push(event);
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < this.#concurrency) {
      const event = this.#queue.shift();
      if (!event) return;
      this.#inFlight += 1;
      this.#send(event)
        .catch((error: unknown) => {
          this.#dropped('failed', error instanceof Error ? error.message : String(error));
        })
        .finally(() => {
          this.#inFlight -= 1;
          this.#pump();
        });
    }
  }
}

/**
 * The sampled payload log (spec.payloadLog): for a sampled request of a
 * graph that asks for it, a CloudEvent of its request and one of its
 * answer, to the graph's HTTP or file sink. Per worker process; a slow or
 * dead sink costs dropped events, never a request's time or answer.
 */
export class PayloadLog implements RequestTelemetry {
  readonly #random: () => number;
  readonly #queueLimit: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #log: (message: string) => void;
  readonly #dropped?: Counter<'graph' | 'reason'>;
  readonly #sinks = new Map<string, BoundedSink>();
  readonly #agent = new Agent({ connections: 16 });
  /** Sinks whose failure has been logged: once each, not once per event. */
  readonly #failing = new Set<string>();

  constructor(options: PayloadLogOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#queueLimit = options.queueLimit ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#concurrency = options.concurrency ?? 8;
    this.#log = options.log ?? (() => undefined);
    if (options.registry) {
      this.#dropped = new Counter({
        name: 'switchyard_payload_log_dropped_total',
        help: 'Payload log events not delivered: the sink queue was full, or sending failed or timed out.',
        labelNames: ['graph', 'reason'],
        registers: [options.registry],
      });
    }
  }

  start(plan: ExecutionPlan, trace: TraceContext, request?: GraphRequestSeen): RequestWatch {
    const payloadLog = plan.payloadLog;
    if (!payloadLog || !request || isFeedback(request)) return NOTHING;
    if (this.#random() >= payloadLog.sample) return NOTHING;
    const requestId = trace.requestId ?? randomUUID();
    return {
      end: (_status, result?: GraphResult) => {
        // After the answer is on its way: the events cost the request nothing.
        setImmediate(() => {
          const sink = this.#sink(plan.graph, payloadLog);
          const contentType = request.headers.get('content-type') ?? 'application/json';
          const events = payloadEvents(
            plan.graph,
            requestId,
            { contentType, body: request.body },
            result,
          );
          for (const event of events) sink.offer(event);
        });
      },
    };
  }

  /** Lets go of the HTTP sinks' connections, after their sends end (each within its timeout). */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  #sink(graph: string, plan: PayloadLogPlan): BoundedSink {
    const target = 'url' in plan.sink ? plan.sink.url : plan.sink.file;
    const key = `${graph}\n${target}`;
    let sink = this.#sinks.get(key);
    if (!sink) {
      const dropped = (reason: DropReason, why?: string) => {
        this.#dropped?.inc({ graph, reason });
        if (why !== undefined && !this.#failing.has(key)) {
          this.#failing.add(key);
          this.#log(
            `payload log of ${graph}: ${target} failed (${why}); its events are dropped and counted from now on`,
          );
        }
      };
      const send =
        'url' in plan.sink
          ? (event: PayloadEvent) => this.#post(target, event)
          : (event: PayloadEvent) => appendFile(target, event.line());
      sink = new BoundedSink(
        send,
        this.#queueLimit,
        'url' in plan.sink ? this.#concurrency : 1,
        dropped,
      );
      this.#sinks.set(key, sink);
    }
    return sink;
  }

  async #post(url: string, event: PayloadEvent): Promise<void> {
    const target = new URL(url);
    const response = await this.#agent.request({
      origin: target.origin,
      path: target.pathname + target.search,
      method: 'POST',
      headers: event.binary.headers,
      body: event.binary.body,
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    await response.body.dump();
    if (response.statusCode >= 300) {
      throw new Error(`the sink answered ${String(response.statusCode)}`);
    }
  }
}
