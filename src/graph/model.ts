import type { HopsMode, NodeSpec, PayloadLog, Protocol, RetryOn } from '../spec/schema.ts';

/** A node's retries, its per-try timeout in milliseconds. */
export interface RetriesModel {
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  readonly on?: readonly RetryOn[];
}

/** A node's outlier detection, its durations in milliseconds; unset fields take Envoy's defaults. */
export interface OutlierDetectionModel {
  readonly consecutive5xx?: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
}

/** One kind of node as the spec declares it, its durations read once into milliseconds. */
type Timed<Node> = Omit<Node, 'timeout' | 'retries' | 'outlierDetection'> & {
  /** The spec's text never reaches the stages after the graph: only milliseconds do. */
  readonly timeout?: never;
  readonly timeoutMs?: number;
  readonly retries?: RetriesModel;
} & (Node extends { outlierDetection?: unknown }
    ? { readonly outlierDetection?: OutlierDetectionModel }
    : unknown);

/** Each kind timed on its own, so the union stays discriminated by `kind`. */
type EachTimed<Node> = Node extends unknown ? Timed<Node> : never;

/** A node of a validated graph: the spec's node, durations in milliseconds. */
export type NodeModel = EachTimed<NodeSpec>;

/** The nodes of one kind. */
export type NodeOfKind<Kind extends NodeModel['kind']> = Extract<NodeModel, { kind: Kind }>;

/**
 * A validated graph: every reference resolves, there is no cycle, and every
 * node is reachable from the entry (or is the explainer). Defaults are applied, durations are in
 * milliseconds. Later stages may rely on all of this without checking again.
 */
export interface GraphModel {
  /** metadata.name; unique among the graphs one control plane serves. */
  readonly name: string;
  readonly namespace: string | undefined;
  /** Where the graph came from (file path or namespace/name of a CR). */
  readonly source: string;
  /** Virtual host domain, "*" when the spec gives none. */
  readonly host: string;
  /** The protocol the graph is called with; default "v2". */
  readonly protocol: Protocol;
  /** Overall deadline in ms; default 30000. */
  readonly timeoutMs: number;
  readonly entry: string;
  readonly propagateHeaders: readonly string[];
  readonly returnOutputs: readonly string[];
  /** Request body limit, on every path. */
  readonly maxRequestBytes: number;
  /** The model node that explains predictions (V1 graphs), if any. */
  readonly explainer?: string;
  /**
   * How the executor calls nodes: through Envoy's hop listener, or their
   * addresses itself; unset, as the control plane's default says (serve --hops).
   */
  readonly hops?: HopsMode;
  /** A sampled log of requests and answers; none: no payload is ever logged. */
  readonly payloadLog?: PayloadLog;
  /** Nodes by name, in name order. */
  readonly nodes: ReadonlyMap<string, NodeModel>;
  /**
   * Node names reachable from the entry, each after every node that leads to
   * it; the explainer last, when the entry does not lead to it.
   */
  readonly order: readonly string[];
}
