import type protobuf from 'protobufjs';
import type { GraphModel } from '../graph/model.ts';
import { planGraph, type PlannedGraph } from '../plan/plan.ts';
import { graphId } from '../plan/upstreams.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { bodyFieldsConfig, graphBodyFields } from './body-fields.ts';
import { cluster, loadAssignment } from './cluster.ts';
import type { ListenerOptions } from './options.ts';
import { validateResource } from '../protos/pgv/validate.ts';
import { planHeaderProblems } from './plan-header-limit.ts';
import type { ResourceChanges, ResourceSet } from './resource-set.ts';
import { hopRouteConfiguration } from './hop-routes.ts';
import { graphRoutes } from './route.ts';
import { translate, type Translation } from './translate.ts';
import { ROUTE } from './type-urls.ts';

export interface Compiled {
  readonly resources: ResourceSet;
  /** What differs from the resources of the compiler's previous compile. */
  readonly changes: ResourceChanges;
  /** Graphs that made it into `resources`, by id, in input order. */
  readonly accepted: readonly string[];
  /** Ids of the graphs left out. */
  readonly rejected: ReadonlySet<string>;
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
  const tooLong = planHeaderProblems(graph, graphRoutes(planned.graph));
  if (tooLong.length > 0) return tooLong;
  const routes = {
    '@type': ROUTE,
    name: 'check',
    virtual_hosts: [{ name: 'check', domains: ['*'], routes: graphRoutes(planned.graph) }],
  };
  const bodyFields = graphBodyFields(planned.graph);
  const resources = [
    routes,
    // What the graph adds to the body filter's configuration: checked here, where it can be refused alone.
    ...(bodyFields.length > 0 ? [bodyFieldsConfig(bodyFields)] : []),
    // A graph without hops adds nothing to the hop table.
    ...(planned.graph.hops.length > 0 ? [hopRouteConfiguration([planned.graph])] : []),
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
 * unchanged, so a one-graph change plans, checks and translates one graph,
 * and the result names what changed since the compiler's previous compile.
 */
export class GraphCompiler {
  readonly #root: protobuf.Root;
  readonly #listener: ListenerOptions;
  readonly #results = new WeakMap<GraphModel, GraphResult>();
  #last: Translation | undefined;

  constructor(root: protobuf.Root, listener: ListenerOptions) {
    this.#root = root;
    this.#listener = listener;
  }

  compile(graphs: readonly GraphModel[]): Compiled {
    const planned: PlannedGraph[] = [];
    const accepted: string[] = [];
    const rejected = new Set<string>();
    const diagnostics: Diagnostic[] = [];
    for (const graph of graphs) {
      const result = this.#result(graph);
      if (result.planned) {
        planned.push(result.planned);
        accepted.push(result.planned.graph.id);
      } else {
        rejected.add(graphId(graph));
        diagnostics.push(...result.diagnostics);
      }
    }
    const translation = translate(planned, this.#listener, this.#last);
    this.#last = translation;
    return {
      resources: translation.resources,
      changes: translation.changes,
      accepted,
      rejected,
      diagnostics,
    };
  }

  /** The plan a compile made of `graph`, if it compiled it and the graph was accepted. */
  plannedOf(graph: GraphModel): PlannedGraph | undefined {
    return this.#results.get(graph)?.planned;
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
