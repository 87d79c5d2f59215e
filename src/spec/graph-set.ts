import type { GraphModel } from '../graph/model.ts';
import { publicInferencePath } from '../protocols/paths.ts';
import type { Diagnostic } from './diagnostic.ts';

function idOf(graph: GraphModel): string {
  return `${graph.namespace ?? 'default'}/${graph.name}`;
}

/**
 * Checks across every graph one control plane serves. The first graph, in
 * the given order, keeps a contested name or route; each later claimant gets
 * the diagnostic, so callers list what is already served first.
 */
export function checkGraphSet(graphs: readonly GraphModel[]): {
  accepted: GraphModel[];
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const names = new Map<string, GraphModel>();
  const routes = new Map<string, GraphModel>();
  for (const graph of graphs) {
    const id = idOf(graph);
    const sameName = names.get(id);
    if (sameName) {
      diagnostics.push({
        code: 'duplicate-name',
        source: graph.source,
        path: 'metadata.name',
        message: `graph "${id}" is already defined in ${sameName.source}`,
        hint: 'give each graph its own metadata.name (or namespace)',
      });
      continue;
    }
    names.set(id, graph);
    const path = publicInferencePath(graph.protocol, graph.name);
    const route = `${graph.host} ${path}`;
    const claimant = routes.get(route);
    if (claimant) {
      diagnostics.push({
        code: 'conflicting-route',
        source: graph.source,
        path: 'spec.host',
        message: `host "${graph.host}" path ${path} is already served by graph "${idOf(claimant)}" (${claimant.source})`,
        hint:
          graph.protocol === 'seldon'
            ? 'the Seldon protocol has one path per host: give each Seldon graph its own spec.host'
            : 'give the graph another name or spec.host',
      });
      names.delete(id);
      continue;
    }
    routes.set(route, graph);
  }
  const accepted: GraphModel[] = [];
  for (const graph of names.values()) {
    let dangling = false;
    for (const [node, spec] of graph.nodes) {
      if (spec.kind !== 'graph') continue;
      const target = `${graph.namespace ?? 'default'}/${spec.graph}`;
      if (!names.has(target)) {
        diagnostics.push({
          code: 'dangling-reference',
          source: graph.source,
          path: `spec.nodes.${node}.graph`,
          message: `there is no graph "${target}"`,
          hint: 'define that graph, or refer to one that exists in the same namespace',
        });
        dangling = true;
      }
    }
    if (!dangling) accepted.push(graph);
  }
  return { accepted, diagnostics };
}
