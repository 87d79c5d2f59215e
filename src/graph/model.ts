import type { NodeSpec, Protocol } from '../spec/schema.ts';

/**
 * A validated graph: every reference resolves, there is no cycle, and every
 * node is reachable from the entry. Defaults are applied, durations are in
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
  /** Request body limit for graphs the executor runs. */
  readonly maxRequestBytes: number;
  /** Nodes by name, in name order. */
  readonly nodes: ReadonlyMap<string, NodeSpec>;
  /** Node names reachable from the entry, each after every node that leads to it. */
  readonly order: readonly string[];
}
