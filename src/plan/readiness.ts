import type { GraphModel, NodeModel } from '../graph/model.ts';

/**
 * The nodes a request may need an answer from: the graph is ready when
 * every one of them can answer. Followed from the entry along the edges a
 * request can take, except where a failure is tolerated: a soft node is
 * not needed (a soft transformer or output transformer still needs what it
 * leads to, which runs whether or not it fails), nor is a mirror's shadow,
 * nor a route of weight 0. Every case of a switch and every child of a
 * router is needed: any request may take it.
 */
export function requiredNodes(graph: GraphModel): string[] {
  const required = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const node = graph.nodes.get(name);
    if (!node || seen.has(name)) return;
    seen.add(name);
    if (!isSoft(node)) required.add(name);
    else if (node.kind !== 'transformer' && node.kind !== 'output-transformer') return;
    for (const next of neededBelow(node)) visit(next);
  };
  visit(graph.entry);
  return [...required].sort();
}

function isSoft(node: NodeModel): boolean {
  return node.dependency === 'soft';
}

function neededBelow(node: NodeModel): string[] {
  switch (node.kind) {
    case 'model':
    case 'combiner':
    case 'graph':
      return [];
    case 'transformer':
    case 'output-transformer':
    case 'mirror':
      return [node.to];
    case 'splitter':
      return node.routes.filter((route) => route.weight > 0).map((route) => route.to);
    case 'switch':
      return [
        ...node.cases.map((c) => c.to),
        ...(node.default === undefined ? [] : [node.default]),
      ];
    case 'router':
      return [...node.children, ...(node.then === undefined ? [] : [node.then])];
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
