import type { GraphModel, NodeModel } from '../graph/model.ts';
import { graphId } from '../plan/upstreams.ts';
import { graphEdges, nodeCaption, type ConditionText, type PictureEdge } from './edges.ts';

/**
 * Mermaid reads a label between double quotes; inside, it takes HTML
 * entities, so quotes and angle brackets are written as entities.
 */
function label(lines: readonly string[]): string {
  const escaped = lines.map((line) =>
    line
      .replaceAll('&', '#amp;')
      .replaceAll('"', '#quot;')
      .replaceAll('<', '#lt;')
      .replaceAll('>', '#gt;')
      .replaceAll('|', '#124;'),
  );
  return `"${escaped.join('<br/>')}"`;
}

/** Mermaid's node shapes by what a node does, as the DOT picture draws them. */
function shaped(id: string, text: string, node: NodeModel): string {
  switch (node.kind) {
    case 'model':
    case 'transformer':
    case 'output-transformer':
    case 'router':
    case 'combiner':
      return `${id}(${text})`;
    case 'splitter':
    case 'switch':
    case 'mirror':
      return `${id}{{${text}}}`;
    case 'sequence':
    case 'ensemble':
      return `${id}[${text}]`;
    case 'graph':
      return `${id}[[${text}]]`;
  }
}

function arrow(edge: PictureEdge, target: NodeModel | undefined): string {
  if (edge.role === 'shadow' || target?.dependency === 'soft') return '-.->';
  return edge.role === 'merge' ? '==>' : '-->';
}

/**
 * The graphs as one Mermaid flowchart, each graph a subgraph, with the same
 * content as the DOT picture: Mermaid ids are positional (g0n1), since node
 * names hold characters Mermaid does not take in ids.
 */
export function renderMermaid(graphs: readonly GraphModel[], text: ConditionText): string {
  const lines = ['flowchart LR'];
  const ids = new Map<string, string>();
  const idOf = (graph: GraphModel, node: string) => ids.get(`${graphId(graph)}/${node}`) ?? '';
  graphs.forEach((graph, g) => {
    graph.order.forEach((name, n) =>
      ids.set(`${graphId(graph)}/${name}`, `g${String(g)}n${String(n)}`),
    );
  });
  const byId = new Map(graphs.map((graph) => [graphId(graph), graph]));
  graphs.forEach((graph, g) => {
    lines.push(`  subgraph g${String(g)}[${label([graphId(graph)])}]`);
    for (const name of graph.order) {
      const node = graph.nodes.get(name);
      if (!node) continue;
      const entry = name === graph.entry ? ['(entry)'] : [];
      lines.push(
        `    ${shaped(idOf(graph, name), label([name, nodeCaption(node), ...entry]), node)}`,
      );
    }
    for (const edge of graphEdges(graph, text)) {
      const written = edge.label === '' ? '' : `|${label([edge.label])}|`;
      lines.push(
        `    ${idOf(graph, edge.from)} ${arrow(edge, graph.nodes.get(edge.to))}${written} ${idOf(graph, edge.to)}`,
      );
    }
    lines.push('  end');
  });
  for (const graph of graphs) {
    for (const name of graph.order) {
      const node = graph.nodes.get(name);
      const nested =
        node?.kind === 'graph'
          ? byId.get(`${graph.namespace ?? 'default'}/${node.graph}`)
          : undefined;
      if (nested) lines.push(`  ${idOf(graph, name)} -.->|"calls"| ${idOf(nested, nested.entry)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
