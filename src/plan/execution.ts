import type {
  BuiltinCombiner,
  CombinerInput,
  Protocol,
  RetryOn,
  SwitchCondition,
} from '../spec/schema.ts';

/**
 * The executor's contract: everything it needs to run one graph, and
 * nothing of Kubernetes or of Envoy's protos. Envoy hands it to the
 * executor with each request (PLAN_HEADER, set by the route Envoy matched),
 * or names it by its content hash (PLAN_REFERENCE_HEADER) when it is too
 * large for a header, so a request always runs against exactly the plan of
 * that route, never a mix of old and new.
 *
 * Bump EXECUTION_PLAN_VERSION on any change an older executor would misread;
 * an executor refuses plans of a version it does not know.
 */
export const EXECUTION_PLAN_VERSION = 3;

/**
 * The request header that carries the JSON-encoded plan to the executor:
 * set by the route on requests sent to the executor, or as the gRPC
 * metadata (HTTP/2 headers too) of an ext_proc stream.
 */
export const PLAN_HEADER = 'x-switchyard-plan';

/**
 * The request header (or ext_proc metadata) that names a plan by its
 * content hash instead: the executor has it from the control plane over
 * xDS (docs/decisions/0056-plans-by-reference.md).
 */
export const PLAN_REFERENCE_HEADER = 'x-switchyard-plan-ref';

/** The xDS type of a plan resource: a switchyard.v1.ExecutionPlan { name, plan } named by its hash. */
export const EXECUTION_PLAN_TYPE_URL = 'type.googleapis.com/switchyard.v1.ExecutionPlan';

/**
 * The details the executor gives its answers through ext_proc (local replies
 * to Envoy): the listener leaves what carries them as the executor wrote it.
 */
export const EXECUTOR_REPLY_DETAILS = 'switchyard_executor';

/** What the executor answers 200 on, GET, while it takes requests: Envoy's health check of it. */
export const EXECUTOR_READINESS_PATH = '/switchyard/executor/ready';

/**
 * Envoy closes an HTTP/1.1 connection to the executor after it idles this
 * long; the executor keeps one twice as long, so it never closes one Envoy
 * may be sending a request on.
 */
export const EXECUTOR_IDLE_TIMEOUT_MS = 60_000;

/**
 * The dynamic-metadata namespace the executor writes its hand-off decision
 * to; the only one Envoy accepts from it.
 */
export const EXECUTOR_NAMESPACE = 'switchyard';

/**
 * The dynamic-metadata key, beside the hand-off's, that says whether the
 * model a request is handed off to gets the client's own payload ("true")
 * or another node's answer ("false"): Envoy then holds the model's answer to
 * the rule for a node's 4xx, as the executor does.
 */
export const HANDOFF_FROM_CLIENT_KEY = 'from_client';

/**
 * Set on Envoy's own 503 for a node with no endpoint to send to (a Service
 * with no ready pod): the executor answers that 503 as it is, since no node
 * failed, instead of as a node's failure (502).
 */
export const NO_ENDPOINT_HEADER = 'x-switchyard-no-endpoint';

/**
 * Upper bound of a graph's deadline as the executor may extend Envoy's wait
 * for it. Envoy's own default, 200 ms per message, would cut every graph
 * short; the executor raises the wait to the graph's deadline per request.
 */
export const MAX_GRAPH_WAIT_MS = 3_600_000;

/** Envoy waits this long beyond a graph's deadline, so the executor's own 504 wins the race. */
const ANSWER_MARGIN_MS = 1_000;

/** How long Envoy waits for the executor's answer to a request of a graph with this deadline. */
export function executorWaitMs(graphTimeoutMs: number): number {
  return Math.min(graphTimeoutMs + ANSWER_MARGIN_MS, MAX_GRAPH_WAIT_MS);
}

/** Where the executor sends a node Seldon feedback: next to the node's hop route. */
export function feedbackHopPath(hop: string): string {
  return `${hop}/feedback`;
}

export interface ExecutionPlan {
  readonly version: typeof EXECUTION_PLAN_VERSION;
  /** "<namespace>/<name>". */
  readonly graph: string;
  /** The protocol clients call the graph with. */
  readonly protocol: Protocol;
  /** Whole-graph deadline. */
  readonly timeoutMs: number;
  readonly entry: string;
  /** Request headers every hop gets, lowercased (trace context is always added). */
  readonly propagateHeaders: readonly string[];
  /** Named steps whose outputs are returned beside the answer. */
  readonly returnOutputs: readonly string[];
  /** Request body limit in bytes; larger requests are refused with 413. */
  readonly maxBodyBytes: number;
  readonly nodes: Readonly<Record<string, StepPlan>>;
  /**
   * Set when the graph logs a sample of its payloads. An executor that does
   * not know the field runs the graph as before and logs nothing, as a log
   * of samples may; a plan with it never hands off (the executor must see
   * the answer), which an older executor reads as it is.
   */
  readonly payloadLog?: PayloadLogPlan;
}

/** Where a sampled request's two CloudEvents go (docs/decisions/0058-sampled-payload-log.md). */
export interface PayloadLogPlan {
  /** Share of requests logged, in [0, 1]. */
  readonly sample: number;
  readonly sink: { readonly url: string } | { readonly file: string };
}

interface StepCommon {
  /** Deadline of this step, including everything below it; never above the graph's. */
  readonly timeoutMs: number;
  /** A soft step's failure is recorded in the response metadata and does not fail the graph. */
  readonly soft: boolean;
  /** Extra request headers this step's calls get, lowercased. */
  readonly propagateHeaders: readonly string[];
}

/** A call to a node's endpoint, through Envoy's hop listener or, in a graph of direct hops, to the node itself. */
export interface HopCall {
  /** Path on the hop listener; Envoy rewrites it to the node's own path and applies its policies. */
  readonly hop: string;
  readonly protocol: Protocol;
  /** Set (false) for a V2 node whose server takes no binary tensors: they are sent to it as JSON. */
  readonly binaryTensors?: false;
  /**
   * Set in a graph of direct hops (spec.hops: direct): the executor calls
   * the node itself. An executor that does not know the field still runs
   * the graph correctly, through the hop listener, which keeps every node's
   * route.
   */
  readonly direct?: DirectHop;
}

/**
 * A node as the executor calls it without Envoy: its addresses and path,
 * and the retries Envoy's hop route would apply. The addresses are the
 * graph's own (file graphs list them), so they change only with the plan:
 * a request runs exactly one version of its graph.
 */
export interface DirectHop {
  /** "http://host:port" or "https://host:port", one per address; calls are balanced across them. */
  readonly origins: readonly string[];
  /** The node's own inference path. */
  readonly path: string;
  readonly retries?: {
    /** Retries after the first try. */
    readonly attempts: number;
    readonly perTryTimeoutMs?: number;
    readonly on: readonly RetryOn[];
  };
}

export type StepPlan =
  | ModelStep
  | TransformerStep
  | OutputTransformerStep
  | RouterStep
  | SplitterStep
  | SwitchStep
  | MirrorStep
  | SequenceStep
  | EnsembleStep
  | SubgraphStep;

export interface ModelStep extends StepCommon, HopCall {
  readonly kind: 'model';
  /**
   * Set when Envoy has a route that sends the request on to this model
   * itself once the executor has prepared it: the answer then streams from
   * the model to the client without passing through the executor.
   */
  readonly handoff?: string;
}

export interface TransformerStep extends StepCommon, HopCall {
  readonly kind: 'transformer';
  readonly to: string;
}

export interface OutputTransformerStep extends StepCommon, HopCall {
  readonly kind: 'output-transformer';
  readonly to: string;
}

export interface RouterStep extends StepCommon, HopCall {
  readonly kind: 'router';
  readonly children: readonly string[];
  readonly then?: string;
}

export interface SplitterStep extends StepCommon {
  readonly kind: 'splitter';
  readonly routes: readonly { readonly to: string; readonly weight: number }[];
  readonly stickyHeader?: string;
}

export interface SwitchStep extends StepCommon {
  readonly kind: 'switch';
  readonly cases: readonly { readonly when: SwitchCondition; readonly to: string }[];
  readonly default?: string;
}

export interface MirrorStep extends StepCommon {
  readonly kind: 'mirror';
  readonly to: string;
  readonly shadow: string;
  readonly percent: number;
}

export interface SequenceStep extends StepCommon {
  readonly kind: 'sequence';
  /** A step with `when` runs only if it holds on the previous answer; else the sequence answers that. */
  readonly steps: readonly {
    readonly node: string;
    readonly input: string;
    readonly when?: SwitchCondition;
  }[];
  readonly stopWhen?: SwitchCondition;
}

export interface EnsembleStep extends StepCommon {
  readonly kind: 'ensemble';
  readonly children: readonly string[];
  readonly combine:
    | { readonly builtin: BuiltinCombiner }
    | {
        readonly node: string;
        readonly call: HopCall;
        /** What the combiner node receives (docs/protocols.md). */
        readonly input: CombinerInput;
      };
  readonly then?: string;
}

/** Another graph, called through Envoy on its own public path with its own plan. */
export interface SubgraphStep extends StepCommon, HopCall {
  readonly kind: 'graph';
}
