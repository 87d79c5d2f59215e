import type { GraphModel } from '../graph/model.ts';
import { publicInferencePath } from '../protocols/paths.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { graphRules } from './route-rules.ts';
import type { GraphPlan, Plan, UpstreamPlan } from './types.ts';
import { graphId, hasEndpoint, planUpstream } from './upstreams.ts';

function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface PlannedGraph {
  readonly graph: GraphPlan;
  readonly upstreams: readonly UpstreamPlan[];
}

/**
 * Plans one graph. A graph whose plan has diagnostics is not planned: the
 * caller keeps serving its last good version.
 */
export function planGraph(graph: GraphModel): {
  planned?: PlannedGraph;
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const rules = graphRules(graph, diagnostics);
  if (diagnostics.length > 0) return { diagnostics };
  const upstreams = graph.order.flatMap((name) => {
    const node = graph.nodes.get(name);
    return node && hasEndpoint(node) ? [planUpstream(graph, name, node)] : [];
  });
  return {
    planned: {
      graph: {
        id: graphId(graph),
        graph: graph.name,
        host: graph.host,
        publicPath: publicInferencePath(graph.protocol, graph.name),
        rules,
      },
      upstreams: upstreams.sort(byId),
    },
    diagnostics,
  };
}

/** Assembles planned graphs into one plan, sorted so output never depends on input order. */
export function assemblePlan(planned: readonly PlannedGraph[]): Plan {
  return {
    graphs: planned.map((p) => p.graph).sort(byId),
    upstreams: planned.flatMap((p) => p.upstreams).sort(byId),
  };
}
