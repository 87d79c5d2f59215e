import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunObserver } from '../interpreter/run-observer.ts';
import type { RequestTelemetry, RequestWatch } from './request-telemetry.ts';
import type { ExecutionPlan } from '../../plan/execution.ts';

/** How a request or a node call ended, as the metrics count it. */
export type OutcomeClass = 'ok' | 'client' | 'node' | 'timeout' | 'soft';

/**
 * 4xx is what the client sent, 504 a deadline, any other failure the node's
 * (or the executor's) fault; a soft node's failure the graph went on without.
 */
export function outcomeClass(status: number, soft = false): OutcomeClass {
  if (status < 400) return 'ok';
  if (soft) return 'soft';
  if (status < 500) return 'client';
  return status === 504 ? 'timeout' : 'node';
}

/** Inference latencies: from a millisecond (a hop on loopback) to a minute (a graph's longest deadline). */
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
/** A built-in combiner works in memory: microseconds to milliseconds. */
const COMBINE_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1];

/**
 * The executor's metrics, per graph and node. Labels are the names the spec
 * gives graphs and nodes (a plan names them), never anything of a request.
 */
export class ExecutorMetrics implements RequestTelemetry {
  /** Its own metrics; the process's (`process_*`, `nodejs_*`) are processMetrics()'. */
  readonly registry = new Registry();
  readonly #graphRequests: Counter<'graph'>;
  readonly #graphErrors: Counter<'graph' | 'class'>;
  readonly #graphDuration: Histogram<'graph'>;
  readonly #inFlight: Gauge<'graph'>;
  readonly #nodeRequests: Counter<'graph' | 'node'>;
  readonly #nodeErrors: Counter<'graph' | 'node' | 'class'>;
  readonly #nodeDuration: Histogram<'graph' | 'node'>;
  readonly #combineDuration: Histogram<'graph' | 'node'>;
  readonly #badPlans: Counter;

  constructor() {
    const registers = [this.registry];
    this.#graphRequests = new Counter({
      name: 'switchyard_executor_requests_total',
      help: 'Graph requests the executor answered or handed back to Envoy.',
      labelNames: ['graph'],
      registers,
    });
    this.#graphErrors = new Counter({
      name: 'switchyard_executor_errors_total',
      help: 'Graph requests that failed, by class: client (4xx), node (5xx), timeout (504).',
      labelNames: ['graph', 'class'],
      registers,
    });
    this.#graphDuration = new Histogram({
      name: 'switchyard_executor_request_duration_seconds',
      help: "A graph request's time in the executor, from its whole body to its answer.",
      labelNames: ['graph'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#inFlight = new Gauge({
      name: 'switchyard_executor_in_flight_requests',
      help: 'Graph requests the executor is running now.',
      labelNames: ['graph'],
      registers,
    });
    this.#nodeRequests = new Counter({
      name: 'switchyard_executor_node_requests_total',
      help: 'Calls of a node by the executor (through Envoy, whose retries count once).',
      labelNames: ['graph', 'node'],
      registers,
    });
    this.#nodeErrors = new Counter({
      name: 'switchyard_executor_node_errors_total',
      help: 'Failed calls of a node, by class: client (4xx), node (5xx), timeout (504), soft (a soft node the graph went on without).',
      labelNames: ['graph', 'node', 'class'],
      registers,
    });
    this.#nodeDuration = new Histogram({
      name: 'switchyard_executor_node_duration_seconds',
      help: "A node call's time as the executor sees it, Envoy's hop included.",
      labelNames: ['graph', 'node'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#combineDuration = new Histogram({
      name: 'switchyard_executor_combine_duration_seconds',
      help: "A built-in combiner's time over its children's answers.",
      labelNames: ['graph', 'node'],
      buckets: COMBINE_BUCKETS,
      registers,
    });
    this.#badPlans = new Counter({
      name: 'switchyard_executor_bad_plans_total',
      help: 'Requests whose plan header the executor could not read (answered 502 or 404).',
      registers,
    });
  }

  start(plan: ExecutionPlan): RequestWatch {
    const graph = plan.graph;
    const started = performance.now();
    this.#inFlight.inc({ graph });
    return {
      observer: this.#observer(graph),
      end: (status) => {
        this.#inFlight.dec({ graph });
        this.#graphRequests.inc({ graph });
        this.#graphDuration.observe({ graph }, (performance.now() - started) / 1000);
        const outcome = outcomeClass(status);
        if (outcome !== 'ok') this.#graphErrors.inc({ graph, class: outcome });
      },
    };
  }

  refused(): void {
    this.#badPlans.inc();
  }

  /** Counts and times the node calls and combiners of one request of `graph`. */
  #observer(graph: string): RunObserver {
    return {
      nodeCall: (node) => {
        const started = performance.now();
        return (status, soft) => {
          const labels = { graph, node };
          this.#nodeRequests.inc(labels);
          this.#nodeDuration.observe(labels, (performance.now() - started) / 1000);
          const outcome = outcomeClass(status, soft);
          if (outcome !== 'ok') this.#nodeErrors.inc({ ...labels, class: outcome });
        };
      },
      combined: (node, seconds) => {
        this.#combineDuration.observe({ graph, node }, seconds);
      },
    };
  }
}
