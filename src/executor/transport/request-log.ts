import type { ExecutionPlan } from '../../plan/execution.ts';
import type { RequestTelemetry, RequestWatch, TraceContext } from './request-telemetry.ts';

/** The part of a pino logger the executor writes requests to. */
export interface LineLogger {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * A line per failed request and per failed node call (warn), and per request
 * (debug): graph, node, status, Envoy's request id and the time taken. Never
 * a payload, a header value or a failure's reason, which may quote a node's
 * answer.
 */
export class RequestLog implements RequestTelemetry {
  readonly #logger: LineLogger;

  constructor(logger: LineLogger) {
    this.#logger = logger;
  }

  start(plan: ExecutionPlan, context: TraceContext): RequestWatch {
    const logger = this.#logger;
    const graph = plan.graph;
    const requestId = context.requestId;
    const started = performance.now();
    return {
      observer: {
        nodeCall: (node) => (status, soft) => {
          if (status < 400) return;
          logger.warn({ graph, node, status, soft, requestId }, 'a node call failed');
        },
        combined: () => undefined,
      },
      end: (status) => {
        const ms = Math.round((performance.now() - started) * 1000) / 1000;
        if (status >= 500) logger.warn({ graph, status, ms, requestId }, 'graph request failed');
        else logger.debug({ graph, status, ms, requestId }, 'graph request');
      },
    };
  }
}
