import type { Protocol, RetryOn } from '../spec/schema.ts';
import type { ExecutionPlan } from './execution.ts';

/**
 * A graph's plan: what it needs from the data plane, before any Envoy
 * vocabulary. Native steps become route rules Envoy evaluates on its
 * own; steps Envoy cannot express are marked for the executor.
 */
export interface GraphPlan {
  /** "<namespace>/<name>": unique among the graphs of one control plane. */
  readonly id: string;
  readonly graph: string;
  readonly host: string;
  readonly protocol: Protocol;
  /** The path clients call; requests are matched on it exactly. */
  readonly publicPath: string;
  /**
   * Seldon graphs: the prefixes of Seldon Core's gateway paths for the graph
   * (`/seldon/<namespace>/<name>`, and `/seldon/<name>` in the default
   * namespace), under which the graph's paths are served as on its own.
   */
  readonly gatewayPrefixes: readonly string[];
  /** Larger request bodies are refused with 413, on every route of the graph. */
  readonly maxRequestBytes: number;
  /** Where clients ask whether the graph is ready. */
  readonly readinessPath: string;
  /**
   * The upstreams that must each have a healthy endpoint for the graph to be
   * ready (ids, sorted): those of every node a request may need (see
   * readiness.ts). The executor, when the graph has executor routes, is the
   * translator's to add.
   */
  readonly readiness: readonly string[];
  /** The whole request's deadline. */
  readonly timeoutMs: number;
  /** V1 graphs: how `:explain` is answered, by the explainer node or a 404 saying there is none. */
  readonly explain?: ExplainPlan;
  /** Evaluated in order, first match wins; the list is total (the last rule always matches). */
  readonly rules: readonly RouteRule[];
  /** Plans of the executor routes among the rules, by entry node. */
  readonly executors: readonly ExecutorRoutePlan[];
  /** Evaluated before the rules; they match only requests the executor handed off. */
  readonly handoffs: readonly HandoffRule[];
  /** The hop routes of the nodes the executor calls. */
  readonly hops: readonly HopRoutePlan[];
  /** Seldon graphs: the whole graph's plan, for feedback sent along a prediction's routing. */
  readonly feedback?: ExecutionPlan;
}

export interface RouteRule {
  /** The node whose decision this rule encodes, for names and error messages. */
  readonly node: string;
  readonly headers: readonly ValueCondition[];
  readonly queries: readonly ValueCondition[];
  /** Tests of the JSON body; Envoy reads the body into dynamic metadata first. */
  readonly body: readonly BodyCondition[];
  /** Match only when the body cannot be read as JSON: a switch on the body refuses it. */
  readonly bodyUnreadable?: true;
  /**
   * Set on every rule a request may match before its body is read, where
   * the body decides: the route has Envoy read the body, up to this many
   * bytes, and match again. Rules that need no body leave it streaming.
   */
  readonly readsBodyUpTo?: number;
  /**
   * Match only when the request's random draw, in millionths, is below this.
   * Rules are ordered so that earlier rules took every draw below their own
   * bound, which turns first-match order into weighted choice.
   */
  readonly drawBelow?: number;
  readonly action: ForwardAction | StickySplitAction | RejectAction | ExecuteAction;
}

export type StringMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'regex'; readonly value: string };

export interface ValueCondition {
  readonly name: string;
  readonly match: StringMatch | { readonly kind: 'present'; readonly present: boolean };
}

/** A value of the JSON body that some route tests, read by Envoy into dynamic metadata. */
export interface BodyField {
  /** Its canonical JSON path, e.g. "$.parameters.tier": the metadata key. */
  readonly path: string;
  /** The object keys from the body's root to the value. */
  readonly keys: readonly string[];
}

export interface BodyCondition {
  readonly field: BodyField;
  readonly match: BodyValueMatch;
}

/**
 * Typed like JSON: a string never equals a number. Number bounds are a
 * half-open range [from, below), infinite where open; "greater than x"
 * starts at the double just above x, so every comparison is exact.
 */
export type BodyValueMatch =
  | { readonly kind: 'string'; readonly match: StringMatch }
  | { readonly kind: 'number'; readonly equals: number }
  | { readonly kind: 'number-range'; readonly from: number; readonly below: number }
  | { readonly kind: 'bool'; readonly equals: boolean }
  | { readonly kind: 'any-of'; readonly of: readonly BodyValueMatch[] };

export interface RouteSettings {
  /** Whole-request deadline including retries, never above the graph's. */
  readonly timeoutMs: number;
  readonly retries?: RetryPlan;
  readonly mirrors: readonly MirrorPlan[];
}

export interface RetryPlan {
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  readonly on: readonly RetryOn[];
}

export interface MirrorPlan {
  readonly upstream: string;
  /**
   * Share of requests copied, in ten-thousandths. Envoy decides both route
   * fractions and mirroring from the request's one stream id; route bounds
   * read its value modulo a million and mirrors modulo ten thousand, so the
   * two choices stay (nearly) independent: a 10% mirror over a 50/50 split
   * copies 10% of each half, not the first 10% of the draw.
   */
  readonly perTenThousand: number;
}

export interface ForwardAction extends RouteSettings {
  readonly kind: 'forward';
  readonly upstream: string;
  /** The model server's own inference path; the public path is rewritten to it. */
  readonly path: string;
}

/** A weighted choice that must keep one header value on one child: Envoy hashes the header. */
export interface StickySplitAction extends RouteSettings {
  readonly kind: 'sticky-split';
  readonly header: string;
  readonly path: string;
  readonly targets: readonly { readonly upstream: string; readonly weight: number }[];
}

/** The executor runs the graph from `entry` down. */
export interface ExecuteAction {
  readonly kind: 'execute';
  readonly entry: string;
}

/** What an execute rule's route carries, once per entry node. */
export interface ExecutorRoutePlan {
  readonly entry: string;
  readonly plan: ExecutionPlan;
  readonly transport: ExecutorTransport;
  /** Set when the executor takes only V2 requests with binary tensors there; Envoy routes the rest. */
  readonly binaryTensorsOnly?: true;
}

/**
 * How Envoy brings a request to the executor. "upstream": the route sends
 * the request to the executor as to any upstream, and the executor answers
 * it; one HTTP exchange. "ext_proc": Envoy's ext_proc filter streams the
 * request through the executor, which may hand it back for Envoy to forward
 * to a model (and stream that model's answer). Only a plan that can hand
 * off gets ext_proc: its exchange costs Envoy and the executor a quarter to
 * a third more CPU per request (docs/decisions/0006).
 */
export type ExecutorTransport = 'upstream' | 'ext_proc';

/**
 * A route that forwards a request the executor prepared to a model, chosen
 * by the executor through dynamic metadata (which clients cannot set), so
 * the model's answer streams to the client.
 */
export interface HandoffRule {
  readonly key: string;
  readonly node: string;
  readonly forward: ForwardAction;
}

/** A route of the hop listener: the executor's way to call one node through Envoy. */
export interface HopRoutePlan {
  /** "<namespace>/<name>", as the graph's errors name it. */
  readonly graph: string;
  readonly node: string;
  readonly path: string;
  readonly target:
    | { readonly kind: 'upstream'; readonly upstream: string; readonly path: string }
    | { readonly kind: 'graph'; readonly path: string };
  readonly timeoutMs: number;
  readonly retries?: RetryPlan;
}

export interface ExplainPlan {
  /** The explainer node, or "explainer" when the graph names none. */
  readonly node: string;
  readonly action: ForwardAction | RejectAction;
}

export interface RejectAction {
  readonly kind: 'reject';
  readonly status: number;
  readonly reason: string;
}

export interface UpstreamPlan {
  /** "<namespace>/<graph>/<node>". */
  readonly id: string;
  readonly graph: string;
  readonly node: string;
  readonly protocol: Protocol;
  /**
   * Where the node's servers are. "listener": Envoy's own graph listener,
   * for a nested graph, whose readiness this upstream's health check follows.
   */
  readonly endpoints:
    | { readonly kind: 'static'; readonly addresses: readonly HostPort[] }
    | { readonly kind: 'dns'; readonly addresses: readonly HostPort[]; readonly tls: boolean }
    | { readonly kind: 'listener' }
    /** A Kubernetes Service: the controller gives its endpoints, from its EndpointSlices. */
    | {
        readonly kind: 'service';
        readonly namespace: string;
        readonly name: string;
        readonly port: number | string;
      };
  /** What Envoy asks each endpoint, every few seconds, to tell whether it can answer. */
  readonly healthCheckPath: string;
  readonly circuitBreaker: {
    readonly maxConnections: number;
    readonly maxPendingRequests: number;
    readonly maxRequests: number;
    readonly maxRetries: number;
  };
  readonly outlierDetection?: {
    readonly consecutive5xx: number;
    readonly intervalMs: number;
    readonly baseEjectionTimeMs: number;
    readonly maxEjectionPercent: number;
  };
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}
