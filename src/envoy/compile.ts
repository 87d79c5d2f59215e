import type protobuf from 'protobufjs';
import type { GraphModel } from '../graph/model.ts';
import { assemblePlan, planGraph, type PlannedGraph } from '../plan/plan.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { cluster, loadAssignment } from './cluster.ts';
import type { ListenerOptions } from './listener.ts';
import { validateResource } from './pgv/validate.ts';
import type { ResourceSet } from './resource-set.ts';
import { hopRouteConfiguration } from './hop-routes.ts';
import { graphRoutes } from './route.ts';
import { translate } from './translate.ts';
import { ROUTE } from './type-urls.ts';

export interface Compiled {
  readonly resources: ResourceSet;
  /** Graphs that made it into `resources`, by id. */
  readonly accepted: readonly string[];
  /** Problems of the graphs left out; a graph with any problem is left out whole. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Checks one planned graph's resources against the protoc-gen-validate rules
 * of Envoy's protos, so a graph Envoy would NACK is rejected here, against
 * the graph that produced it, and never pushed.
 */
function envoyRuleViolations(
  root: protobuf.Root,
  graph: GraphModel,
  planned: PlannedGraph,
): Diagnostic[] {
  const routes = {
    '@type': ROUTE,
    name: 'check',
    virtual_hosts: [{ name: 'check', domains: ['*'], routes: graphRoutes(planned.graph) }],
  };
  const resources = [
    routes,
    hopRouteConfiguration([planned.graph]),
    ...planned.upstreams.map(cluster),
    ...planned.upstreams.filter((u) => u.endpoints.kind === 'static').map(loadAssignment),
  ];
  return resources.flatMap((resource) =>
    validateResource(root, resource).map((violation) => ({
      code: 'invalid-value' as const,
      source: graph.source,
      path: 'spec',
      message: `Envoy would reject the compiled ${violation.path}: ${violation.message} (${violation.rule})`,
      hint: 'this is a value the spec schema should have caught; please report it',
    })),
  );
}

interface GraphResult {
  readonly planned?: PlannedGraph;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Graph models → Envoy resources. Each graph is planned and checked once per
 * GraphModel object: sources hand the same object back while a graph is
 * unchanged, so a one-graph change plans and checks one graph.
 */
export class GraphCompiler {
  readonly #root: protobuf.Root;
  readonly #listener: ListenerOptions;
  readonly #results = new WeakMap<GraphModel, GraphResult>();

  constructor(root: protobuf.Root, listener: ListenerOptions) {
    this.#root = root;
    this.#listener = listener;
  }

  compile(graphs: readonly GraphModel[]): Compiled {
    const planned: PlannedGraph[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const graph of graphs) {
      const result = this.#result(graph);
      diagnostics.push(...result.diagnostics);
      if (result.planned) planned.push(result.planned);
    }
    const plan = assemblePlan(planned);
    return {
      resources: translate(plan, this.#listener),
      accepted: plan.graphs.map((g) => g.id),
      diagnostics,
    };
  }

  #result(graph: GraphModel): GraphResult {
    let result = this.#results.get(graph);
    if (!result) {
      const { planned, diagnostics } = planGraph(graph);
      const problems = planned ? envoyRuleViolations(this.#root, graph, planned) : diagnostics;
      result =
        problems.length === 0 && planned ? { planned, diagnostics: [] } : { diagnostics: problems };
      this.#results.set(graph, result);
    }
    return result;
  }
}

/** Graph models → Envoy resources, in one go. Pure given the proto Root. */
export function compileGraphs(
  graphs: readonly GraphModel[],
  listener: ListenerOptions,
  root: protobuf.Root,
): Compiled {
  return new GraphCompiler(root, listener).compile(graphs);
}
