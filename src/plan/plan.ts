import type { GraphModel } from '../graph/model.ts';
import type { HopsMode } from '../spec/schema.ts';
import { publicInferencePath, publicReadinessPath, seldonGatewayPath } from '../protocols/paths.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import {
  executionPlan,
  executorTransport,
  feedbackHopRoutes,
  handoffKey,
  canHandOff,
  hopRoutes,
} from './execution-plan.ts';
import { requiredNodes } from './readiness.ts';
import { explainPlan, graphRules, handoffForward, takesBinaryTensorsOnly } from './route-rules.ts';
import type { ExecutorRoutePlan, GraphPlan, HandoffRule, UpstreamPlan } from './types.ts';
import {
  graphId,
  hasEndpoint,
  planNestedReadiness,
  planUpstream,
  upstreamId,
} from './upstreams.ts';

function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface PlannedGraph {
  readonly graph: GraphPlan;
  readonly upstreams: readonly UpstreamPlan[];
}

/**
 * Plans one graph, its hops as it says or else as `defaultHops`. A graph
 * whose plan has diagnostics is not planned: the caller keeps serving its
 * last good version.
 */
export function planGraph(
  declared: GraphModel,
  defaultHops: HopsMode = 'envoy',
): {
  planned?: PlannedGraph;
  diagnostics: Diagnostic[];
} {
  const graph = declared.hops === undefined ? { ...declared, hops: defaultHops } : declared;
  const diagnostics: Diagnostic[] = [];
  const rules = graphRules(graph, diagnostics);
  if (diagnostics.length > 0) return { diagnostics };
  const entries = [
    ...new Set(rules.flatMap((r) => (r.action.kind === 'execute' ? [r.action.entry] : []))),
  ];
  // Every model that can take a hand-off gets its route, not only the ones today's plan hands
  // off to: a request re-matches its route after the hand-off, by then maybe in a newer route
  // table, and the model its (older) plan chose must still be found there.
  const handoffs = (entries.length === 0 ? [] : [...graph.order].sort()).flatMap(
    (name): HandoffRule[] => {
      const node = graph.nodes.get(name);
      return node?.kind === 'model' && canHandOff(graph, node)
        ? [{ key: handoffKey(graph, name), node: name, forward: handoffForward(graph, name, node) }]
        : [];
    },
  );
  const seldon = graph.protocol === 'seldon';
  const hops = new Map(
    [
      ...entries.flatMap((entry) => hopRoutes(graph, entry)),
      ...(seldon ? feedbackHopRoutes(graph) : []),
    ].map((hop) => [hop.path, hop]),
  );
  const required = new Set(requiredNodes(graph));
  const upstreams = graph.order.flatMap((name) => {
    const node = graph.nodes.get(name);
    if (node?.kind === 'graph' && required.has(name)) {
      return [planNestedReadiness(graph, name, node)];
    }
    return node && hasEndpoint(node) ? [planUpstream(graph, name, node)] : [];
  });
  const readiness = [...required]
    .filter((name) => {
      const node = graph.nodes.get(name);
      return node !== undefined && (hasEndpoint(node) || node.kind === 'graph');
    })
    .map((name) => upstreamId(graph, name))
    .sort();
  const namespace = graph.namespace ?? 'default';
  return {
    planned: {
      graph: {
        id: graphId(graph),
        graph: graph.name,
        host: graph.host,
        protocol: graph.protocol,
        publicPath: publicInferencePath(graph.protocol, graph.name),
        gatewayPrefixes: seldon
          ? [
              seldonGatewayPath(namespace, graph.name, ''),
              ...(namespace === 'default' ? [`/seldon/${graph.name}`] : []),
            ]
          : [],
        maxRequestBytes: graph.maxRequestBytes,
        readinessPath: publicReadinessPath(graph.protocol, graph.name),
        readiness,
        timeoutMs: graph.timeoutMs,
        ...(graph.protocol === 'v1' && { explain: explainPlan(graph) }),
        rules,
        executors: entries.map((entry): ExecutorRoutePlan => {
          const plan = executionPlan(graph, entry);
          const binaryOnly = rules.every(
            (r) =>
              r.action.kind !== 'execute' || r.action.entry !== entry || takesBinaryTensorsOnly(r),
          );
          return {
            entry,
            plan,
            transport: executorTransport(plan),
            ...(binaryOnly && { binaryTensorsOnly: true as const }),
          };
        }),
        handoffs,
        hops: [...hops.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
        ...(seldon && { feedback: executionPlan(graph, graph.entry) }),
      },
      upstreams: upstreams.sort(byId),
    },
    diagnostics,
  };
}
