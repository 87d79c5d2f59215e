import type protobuf from 'protobufjs';
import { plannedGraphResources } from '../envoy/graph-resources.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import type { ResourceChanges, ResourceSet } from '../envoy/resource-set.ts';
import { translate, type Translation } from '../envoy/translate.ts';
import type { GraphModel } from '../graph/model.ts';
import { serviceReferences } from '../graph/services.ts';
import { planGraph, type PlannedGraph } from '../plan/plan.ts';
import { graphId } from '../plan/upstreams.ts';
import { validateResource } from '../protos/pgv/validate.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';

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
 * Checks one planned graph's resources against the protoc-gen-validate
 * rules of Envoy's protos, so a graph Envoy would NACK is rejected here,
 * against the graph that produced it, and never pushed. (A plan too long for
 * its route's header travels by reference: envoy/plan-carriage.ts.)
 */
function envoyRuleViolations(
  root: protobuf.Root,
  listener: ListenerOptions,
  graph: GraphModel,
  planned: PlannedGraph,
): Diagnostic[] {
  return plannedGraphResources(planned, listener).flatMap((resource) =>
    validateResource(root, resource).map((violation) => ({
      code: 'invalid-value' as const,
      source: graph.source,
      path: 'spec',
      message: `Envoy would reject the compiled ${violation.path}: ${violation.message} (${violation.rule})`,
      hint: 'this is a value the spec schema should have caught; please report it',
    })),
  );
}

export interface CompilerOptions {
  /**
   * Whether nodes may be served by Kubernetes Services: only when a
   * Kubernetes source follows their EndpointSlices.
   */
  readonly services?: boolean;
}

/** A Service endpoint where nothing follows Services: a problem of the graph, at the endpoint. */
function serviceProblems(graph: GraphModel): Diagnostic[] {
  return serviceReferences(graph).map((reference) => ({
    code: 'unsupported' as const,
    source: graph.source,
    path: reference.path,
    message: `node "${reference.node}" is served by a Kubernetes Service, which needs a Kubernetes source`,
    hint: 'run serve --kubernetes (validate and compile: --kubernetes), or give addresses or url',
  }));
}

interface GraphResult {
  readonly planned?: PlannedGraph;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Graph models → Envoy resources: plans each graph, checks what it would
 * add to Envoy's configuration against Envoy's own rules, and hands the
 * plans to the translator. Each graph is planned and checked once per
 * GraphModel object: sources hand the same object back while a graph is
 * unchanged, so a one-graph change plans, checks and translates one graph,
 * and the result names what changed since the compiler's previous compile.
 */
export class GraphCompiler {
  readonly #root: protobuf.Root;
  #listener: ListenerOptions;
  readonly #services: boolean;
  readonly #results = new WeakMap<GraphModel, GraphResult>();
  #last: Translation | undefined;

  constructor(root: protobuf.Root, listener: ListenerOptions, options: CompilerOptions = {}) {
    this.#root = root;
    this.#listener = listener;
    this.#services = options.services === true;
  }

  /**
   * The data plane's options changed (a rotated executor CA): the next
   * compile translates every graph again. Plans depend only on the default
   * hops, which a control plane keeps from its start, and stay.
   */
  useListener(listener: ListenerOptions): void {
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

  /** Why `graph` cannot be compiled (the planner's and Envoy's rules), if it cannot. */
  problemsOf(graph: GraphModel): readonly Diagnostic[] {
    return this.#result(graph).diagnostics;
  }

  /** The plan a compile made of `graph`, if it compiled it and the graph was accepted. */
  plannedOf(graph: GraphModel): PlannedGraph | undefined {
    return this.#results.get(graph)?.planned;
  }

  #result(graph: GraphModel): GraphResult {
    let result = this.#results.get(graph);
    if (!result) {
      const unsupported = this.#services ? [] : serviceProblems(graph);
      const { planned, diagnostics } = planGraph(graph, this.#listener.hops);
      const problems =
        unsupported.length > 0
          ? unsupported
          : planned
            ? envoyRuleViolations(this.#root, this.#listener, graph, planned)
            : diagnostics;
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
  options?: CompilerOptions,
): Compiled {
  return new GraphCompiler(root, listener, options).compile(graphs);
}
