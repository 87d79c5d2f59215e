import type { GraphModel, NodeModel } from '../graph/model.ts';
import type { SwitchCondition } from '../spec/schema.ts';
import type { Static } from '@sinclair/typebox';

/**
 * How one node leads to another: `flow` carries the request on, `shadow` is
 * a copy nobody waits for (a mirror's), `merge` brings answers together (an
 * ensemble's combiner).
 */
export type EdgeRole = 'flow' | 'shadow' | 'merge';

/** One arrow of a graph's picture. */
export interface PictureEdge {
  readonly from: string;
  readonly to: string;
  readonly role: EdgeRole;
  /** What the arrow means, for a reader: "90%", "header x-tier = gold", "step 2". */
  readonly label: string;
  /** A splitter's relative weight of this route, and its share of the node's total in percent. */
  readonly weight?: { readonly value: number; readonly percent: number };
}

/** How much of a picture shows the values a switch compares against. */
export interface ConditionText {
  /**
   * false: a condition names what it reads and how ("header x-tier =") but
   * not the value, so a page others read shows no token someone routes on.
   */
  readonly values: boolean;
}

function literal(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A switch or sequence condition in one short line. */
export function conditionText(
  condition: Static<typeof SwitchCondition>,
  text: ConditionText,
): string {
  if (condition.cel !== undefined) return text.values ? `cel: ${condition.cel}` : 'cel: …';
  const subject =
    condition.header !== undefined
      ? `header ${condition.header}`
      : condition.query !== undefined
        ? `query ${condition.query}`
        : `body ${condition.body ?? ''}`;
  const shown = (value: unknown) => (text.values ? ` ${literal(value)}` : ' …');
  if (condition.present !== undefined)
    return `${subject} ${condition.present ? '' : 'not '}present`;
  if (condition.equals !== undefined) return `${subject} =${shown(condition.equals)}`;
  if (condition.in !== undefined)
    return `${subject} in${text.values ? ` [${condition.in.map(literal).join(', ')}]` : ' …'}`;
  if (condition.prefix !== undefined) return `${subject} starts with${shown(condition.prefix)}`;
  if (condition.regex !== undefined) return `${subject} ~${shown(condition.regex)}`;
  if (condition.gt !== undefined) return `${subject} >${shown(condition.gt)}`;
  if (condition.gte !== undefined) return `${subject} ≥${shown(condition.gte)}`;
  if (condition.lt !== undefined) return `${subject} <${shown(condition.lt)}`;
  if (condition.lte !== undefined) return `${subject} ≤${shown(condition.lte)}`;
  return subject;
}

function percentOf(value: number, total: number): number {
  // One decimal: 33.3%, not 33.33333%; a route of weight 0 of a total 0 takes none.
  return total === 0 ? 0 : Math.round((value / total) * 1000) / 10;
}

/** The arrows out of one node, in the order the spec writes its references. */
export function edgesOf(name: string, node: NodeModel, text: ConditionText): PictureEdge[] {
  const edge = (to: string, label: string, role: EdgeRole = 'flow'): PictureEdge => ({
    from: name,
    to,
    role,
    label,
  });
  switch (node.kind) {
    case 'model':
    case 'combiner':
    case 'graph':
      return [];
    case 'transformer':
    case 'output-transformer':
      return [edge(node.to, '')];
    case 'router':
      return [
        ...node.children.map((child) => edge(child, 'may choose')),
        ...(node.then === undefined ? [] : [edge(node.then, 'then')]),
      ];
    case 'splitter': {
      const total = node.routes.reduce((sum, route) => sum + route.weight, 0);
      return node.routes.map((route) => {
        const percent = percentOf(route.weight, total);
        return {
          ...edge(route.to, `${String(percent)}%`),
          weight: { value: route.weight, percent },
        };
      });
    }
    case 'switch':
      return [
        ...node.cases.map((c) => edge(c.to, conditionText(c.when, text))),
        ...(node.default === undefined ? [] : [edge(node.default, 'otherwise')]),
      ];
    case 'mirror':
      return [
        edge(node.to, ''),
        edge(node.shadow, `mirror ${String(node.percent ?? 100)}%`, 'shadow'),
      ];
    case 'sequence':
      return node.steps.map((step, index) => {
        const when = step.when === undefined ? '' : ` if ${conditionText(step.when, text)}`;
        const input =
          step.input === undefined || step.input === 'previous' ? '' : ` (input: ${step.input})`;
        return edge(step.node, `step ${String(index + 1)}${when}${input}`);
      });
    case 'ensemble':
      return [
        ...node.children.map((child) => edge(child, '')),
        ...(node.combiner === undefined ? [] : [edge(node.combiner, 'combine', 'merge')]),
        ...(node.then === undefined ? [] : [edge(node.then, 'then')]),
      ];
  }
}

/** Every arrow of a graph, node by node in the graph's order from its entry. */
export function graphEdges(graph: GraphModel, text: ConditionText): PictureEdge[] {
  return graph.order.flatMap((name) => {
    const node = graph.nodes.get(name);
    return node === undefined ? [] : edgesOf(name, node, text);
  });
}

/** A node's second line: its kind and what sets it apart (a nested graph's name, a combine). */
export function nodeCaption(node: NodeModel): string {
  const soft = node.dependency === 'soft' ? ', soft' : '';
  switch (node.kind) {
    case 'graph':
      return `graph → ${node.graph}${soft}`;
    case 'ensemble':
      return `ensemble${node.combine === undefined ? '' : ` (${node.combine})`}${soft}`;
    case 'sequence':
      return `sequence${node.stopWhen === undefined ? '' : ' (stops early)'}${soft}`;
    default:
      return `${node.kind}${soft}`;
  }
}
