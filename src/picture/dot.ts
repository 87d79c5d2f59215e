import type { GraphModel, NodeModel } from '../graph/model.ts';
import { graphId, upstreamId } from '../plan/upstreams.ts';
import { graphEdges, nodeCaption, type ConditionText, type PictureEdge } from './edges.ts';
import { trafficLines, type TrafficOf } from './traffic.ts';

export interface DotOptions extends ConditionText {
  /** Live traffic to write beside each node's arrow; none: the spec alone. */
  readonly traffic?: TrafficOf;
}

/** A DOT double-quoted string: Graphviz reads \" and \\ and turns \n into a centred line break. */
function quoted(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}

function attributes(values: Readonly<Record<string, string | number | undefined>>): string {
  const written = Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'number' ? String(value) : quoted(value)}`);
  return written.length === 0 ? '' : ` [${written.join(', ')}]`;
}

/** Shape and colour by what a node does: calls an endpoint, steers, or composes. */
function look(node: NodeModel): Record<string, string> {
  switch (node.kind) {
    case 'model':
      return { shape: 'box', style: 'rounded,filled', fillcolor: '#e3efff' };
    case 'transformer':
    case 'output-transformer':
      return { shape: 'box', style: 'rounded,filled', fillcolor: '#e5f5e3' };
    case 'router':
    case 'combiner':
      return { shape: 'box', style: 'rounded,filled', fillcolor: '#fff1d6' };
    case 'splitter':
    case 'switch':
    case 'mirror':
      return { shape: 'hexagon', style: 'filled', fillcolor: '#efe8fb' };
    case 'sequence':
    case 'ensemble':
      return { shape: 'box', style: 'filled', fillcolor: '#efe8fb' };
    case 'graph':
      return { shape: 'box3d', style: 'filled', fillcolor: '#f1f1f1' };
  }
}

function edgeStyle(edge: PictureEdge, target: NodeModel | undefined): string | undefined {
  if (edge.role === 'shadow') return 'dashed';
  // A soft dependency may fail without failing the graph: its arrow is drawn lighter.
  return target?.dependency === 'soft' ? 'dotted' : undefined;
}

/** How many arrows lead to each node: traffic is drawn on the arrow when only one does. */
function arrowsInto(edges: readonly PictureEdge[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const edge of edges) counts.set(edge.to, (counts.get(edge.to) ?? 0) + 1);
  return counts;
}

/** Node ids hold the graph's id, so the graphs of one picture never share a node. */
function graphLines(graph: GraphModel, options: DotOptions): string[] {
  const id = graphId(graph);
  const edges = graphEdges(graph, options);
  const into = arrowsInto(edges);
  const trafficOf = (node: string) => options.traffic?.(graph, node);
  const lines = [
    `  subgraph ${quoted(`cluster_${id}`)} {`,
    `    label=${quoted(id)}; id=${quoted(`graph:${id}`)};`,
  ];
  for (const name of graph.order) {
    const node = graph.nodes.get(name);
    if (!node) continue;
    const traffic = trafficOf(name);
    const onNode = traffic !== undefined && into.get(name) !== 1 ? trafficLines(traffic) : [];
    lines.push(
      `    ${quoted(upstreamId(graph, name))}${attributes({
        id: `node:${upstreamId(graph, name)}`,
        label: [name, nodeCaption(node), ...onNode].join('\n'),
        ...look(node),
        penwidth: name === graph.entry ? 2 : undefined,
      })};`,
    );
  }
  edges.forEach((edge, index) => {
    const target = graph.nodes.get(edge.to);
    const traffic = into.get(edge.to) === 1 ? trafficOf(edge.to) : undefined;
    const label = [edge.label, ...(traffic ? trafficLines(traffic) : [])]
      .filter((line) => line !== '')
      .join('\n');
    lines.push(
      `    ${quoted(upstreamId(graph, edge.from))} -> ${quoted(upstreamId(graph, edge.to))}${attributes(
        {
          id: `edge:${id}/${edge.from}->${edge.to}#${String(index)}`,
          label: label === '' ? undefined : label,
          style: edgeStyle(edge, target),
          arrowhead: edge.role === 'merge' ? 'odiamond' : undefined,
          color: traffic && traffic.errors > 0 ? '#c62828' : undefined,
          fontcolor: traffic && traffic.errors > 0 ? '#c62828' : undefined,
        },
      )};`,
    );
  });
  lines.push('  }');
  return lines;
}

/**
 * A nested graph drawn in the same picture: the call is an arrow into its
 * entry. Written outside both clusters, since naming a node inside a
 * cluster would pull it in.
 */
function callLines(graph: GraphModel, all: ReadonlyMap<string, GraphModel>): string[] {
  return graph.order.flatMap((name) => {
    const node = graph.nodes.get(name);
    const nested =
      node?.kind === 'graph' ? all.get(`${graph.namespace ?? 'default'}/${node.graph}`) : undefined;
    if (!nested) return [];
    return [
      `  ${quoted(upstreamId(graph, name))} -> ${quoted(upstreamId(nested, nested.entry))}${attributes(
        {
          id: `call:${upstreamId(graph, name)}`,
          style: 'dashed',
          label: 'calls',
          lhead: `cluster_${graphId(nested)}`,
        },
      )};`,
    ];
  });
}

/**
 * The graphs as one Graphviz DOT digraph, each graph a cluster: nodes by
 * kind (shape and colour), arrows with split weights, switch conditions,
 * mirrors (dashed), soft dependencies (dotted) and calls into nested graphs.
 */
export function renderDot(graphs: readonly GraphModel[], options: DotOptions): string {
  const all = new Map(graphs.map((graph) => [graphId(graph), graph]));
  return [
    'digraph switchyard {',
    '  graph [rankdir=LR, compound=true, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=0.6];',
    '  node [fontname="Helvetica", fontsize=11, margin="0.15,0.06"];',
    '  edge [fontname="Helvetica", fontsize=10, color="#555555"];',
    ...graphs.flatMap((graph) => graphLines(graph, options)),
    ...graphs.flatMap((graph) => callLines(graph, all)),
    '}',
    '',
  ].join('\n');
}
