import { findCycles } from './cycles.ts';
import type { GraphModel } from './model.ts';
import { publicInferencePath } from '../protocols/paths.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { formatPath } from '../spec/paths.ts';
import { didYouMean } from '../spec/suggest.ts';

/** "ns/name", or just "name" for a graph without a namespace (files). */
function idOf(namespace: string | undefined, name: string): string {
  return namespace === undefined ? name : `${namespace}/${name}`;
}

interface SubgraphReference {
  readonly node: string;
  /** The id of the graph referred to, in the referring graph's namespace. */
  readonly target: string;
}

const subgraphs = new WeakMap<GraphModel, readonly SubgraphReference[]>();

/** Worked out once per graph: the set checks run over every graph on each change. */
function subgraphsOf(graph: GraphModel): readonly SubgraphReference[] {
  let references = subgraphs.get(graph);
  if (!references) {
    references = [...graph.nodes].flatMap(([node, spec]) =>
      spec.kind === 'graph' ? [{ node, target: idOf(graph.namespace, spec.graph) }] : [],
    );
    subgraphs.set(graph, references);
  }
  return references;
}

interface Claims {
  readonly id: string;
  /** Host and public path: what no two graphs may both serve. */
  readonly route: string;
  readonly path: string;
}

const claimsByGraph = new WeakMap<GraphModel, Claims>();

/** Worked out once per graph, like its subgraph references. */
function claimsOf(graph: GraphModel): Claims {
  let claims = claimsByGraph.get(graph);
  if (!claims) {
    const path = publicInferencePath(graph.protocol, graph.name);
    claims = { id: idOf(graph.namespace, graph.name), route: `${graph.host} ${path}`, path };
    claimsByGraph.set(graph, claims);
  }
  return claims;
}

/** Whether a graph nests others: only such graphs can dangle or close a cycle. */
export function nestsGraphs(graph: GraphModel): boolean {
  return subgraphsOf(graph).length > 0;
}

/**
 * The names and routes of the graphs already served, kept up to date as
 * graphs come and go, so a change is checked against them without going
 * through every graph again.
 */
export class ServedClaims {
  readonly #ids = new Map<string, GraphModel>();
  readonly #routes = new Map<string, GraphModel>();

  add(graph: GraphModel): void {
    const claims = claimsOf(graph);
    this.#ids.set(claims.id, graph);
    this.#routes.set(claims.route, graph);
  }

  remove(graph: GraphModel): void {
    const claims = claimsOf(graph);
    if (this.#ids.get(claims.id) === graph) this.#ids.delete(claims.id);
    if (this.#routes.get(claims.route) === graph) this.#routes.delete(claims.route);
  }

  holderOf(id: string): GraphModel | undefined {
    return this.#ids.get(id);
  }

  claimantOf(route: string): GraphModel | undefined {
    return this.#routes.get(route);
  }

  ids(): IterableIterator<string> {
    return this.#ids.keys();
  }
}

function referencePath(reference: SubgraphReference): string {
  return formatPath(['spec', 'nodes', reference.node, 'graph']);
}

/**
 * Checks across every graph one control plane serves, and the graphs that
 * survive them. The first graph, in the given order, keeps a contested name
 * or route and each later claimant is left out, so callers list what is
 * already served first. A graph that nests a graph that is left out, or that
 * nests itself through others, is left out too. `served`, when given, holds
 * graphs served outside `graphs`: they come before all of `graphs`.
 */
export function partitionGraphSet(
  graphs: readonly GraphModel[],
  served?: ServedClaims,
): {
  accepted: GraphModel[];
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const kept = new Map<string, GraphModel>();
  const left = new Map<string, GraphModel>();
  const routes = new Map<string, GraphModel>();
  for (const graph of graphs) {
    const { id, route, path } = claimsOf(graph);
    const holder = kept.get(id) ?? served?.holderOf(id);
    if (holder) {
      diagnostics.push({
        code: 'duplicate-name',
        source: graph.source,
        path: 'metadata.name',
        message: `graph "${id}" is already defined in ${holder.source}`,
        hint: 'give each graph its own metadata.name (or namespace)',
      });
      continue;
    }
    const claimant = routes.get(route) ?? served?.claimantOf(route);
    if (claimant) {
      diagnostics.push({
        code: 'conflicting-route',
        source: graph.source,
        path: 'spec.host',
        message: `host "${graph.host}" path ${path} is already served by graph "${idOf(claimant.namespace, claimant.name)}" (${claimant.source})`,
        hint:
          graph.protocol === 'seldon'
            ? 'the Seldon protocol has one path per host: give each Seldon graph its own spec.host'
            : 'give the graph another name or spec.host',
      });
      left.set(id, graph);
      continue;
    }
    kept.set(id, graph);
    routes.set(route, graph);
  }

  const drop = (id: string, graph: GraphModel) => {
    kept.delete(id);
    left.set(id, graph);
  };
  // Only graphs that nest others can dangle or close a cycle: usually none, so a set of
  // ten thousand graphs costs no more than its names and routes.
  const nesting = [...kept].filter(([, graph]) => subgraphsOf(graph).length > 0);
  let known: string[] | undefined;
  const knownIds = () =>
    (known ??= [...new Set([...graphs.map((g) => claimsOf(g).id), ...(served?.ids() ?? [])])]);
  const isKept = (id: string) => kept.has(id) || served?.holderOf(id) !== undefined;
  for (let changed = nesting.length > 0; changed;) {
    changed = false;
    for (const [id, graph] of nesting) {
      if (!kept.has(id)) continue;
      const dangling = subgraphsOf(graph).filter((r) => !isKept(r.target));
      for (const reference of dangling) {
        const rejected = left.get(reference.target);
        diagnostics.push({
          code: 'dangling-reference',
          source: graph.source,
          path: referencePath(reference),
          message: rejected
            ? `graph "${reference.target}" (${rejected.source}) is not served, so this graph cannot nest it`
            : `there is no graph "${reference.target}"`,
          hint: rejected
            ? `fix the problems reported for ${rejected.source}`
            : (didYouMean(reference.target, knownIds()) ??
              'define that graph, or refer to one in the same namespace'),
        });
      }
      if (dangling.length > 0) {
        drop(id, graph);
        changed = true;
      }
    }
    if (changed) continue;
    const edges = new Map(
      nesting
        .filter(([id]) => kept.has(id))
        .map(([id, g]) => [id, subgraphsOf(g).map((r) => r.target)]),
    );
    for (const cycle of findCycles([], edges)) {
      for (const [index, id] of cycle.slice(0, -1).entries()) {
        const graph = kept.get(id);
        const reference = graph && subgraphsOf(graph).find((r) => r.target === cycle[index + 1]);
        if (!graph || !reference) continue;
        diagnostics.push({
          code: 'cycle',
          source: graph.source,
          path: referencePath(reference),
          message: `graphs nest each other in a cycle: ${cycle.join(' → ')}`,
          hint: 'a graph cannot contain itself: remove one of these graph nodes',
        });
        drop(id, graph);
        changed = true;
      }
    }
  }
  if (left.size === 0 && diagnostics.length === 0) return { accepted: [...graphs], diagnostics };
  return { accepted: graphs.filter((g) => kept.get(claimsOf(g).id) === g), diagnostics };
}

/** Every problem across the graphs one control plane serves. */
export function checkGraphSet(graphs: readonly GraphModel[], served?: ServedClaims): Diagnostic[] {
  return partitionGraphSet(graphs, served).diagnostics;
}
