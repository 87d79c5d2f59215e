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
  /** Nodes by name, in name order. */
  readonly nodes: ReadonlyMap<string, NodeSpec>;
  /** Node names reachable from the entry, each after every node that leads to it. */
  readonly order: readonly string[];
}

/** The names a node refers to, in spec order (duplicates kept). */
export function childrenOf(node: NodeSpec): string[] {
  switch (node.kind) {
    case 'model':
    case 'combiner':
    case 'graph':
      return [];
    case 'transformer':
    case 'output-transformer':
      return [node.to];
    case 'router':
      return [...node.children, ...(node.then === undefined ? [] : [node.then])];
    case 'splitter':
      return node.routes.map((route) => route.to);
    case 'switch':
      return [
        ...node.cases.map((c) => c.to),
        ...(node.default === undefined ? [] : [node.default]),
      ];
    case 'mirror':
      return [node.to, node.shadow];
    case 'sequence':
      return node.steps.map((step) => step.node);
    case 'ensemble':
      return [
        ...node.children,
        ...(node.combiner === undefined ? [] : [node.combiner]),
        ...(node.then === undefined ? [] : [node.then]),
      ];
  }
}
