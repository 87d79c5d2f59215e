import { formatPath } from '../spec/paths.ts';
import type { GraphModel } from './model.ts';

/** A node's endpoint that is a Kubernetes Service, its namespace resolved. */
export interface ServiceReference {
  /** The node whose endpoint it is. */
  readonly node: string;
  /** Where it is written: "spec.nodes.<node>.endpoint.service". */
  readonly path: string;
  readonly namespace: string;
  readonly name: string;
  /** The Service's port, by number or by name. */
  readonly port: number | string;
}

/** The namespace a graph's own references fall in: files without one are in "default". */
export function graphNamespace(graph: GraphModel): string {
  return graph.namespace ?? 'default';
}

const references = new WeakMap<GraphModel, readonly ServiceReference[]>();

/** The Services a graph's nodes are served by, in node order; worked out once per graph. */
export function serviceReferences(graph: GraphModel): readonly ServiceReference[] {
  let found = references.get(graph);
  if (!found) {
    found = [...graph.nodes].flatMap(([node, spec]): ServiceReference[] => {
      const service = 'endpoint' in spec ? spec.endpoint.service : undefined;
      if (!service) return [];
      return [
        {
          node,
          path: formatPath(['spec', 'nodes', node, 'endpoint', 'service']),
          namespace: service.namespace ?? graphNamespace(graph),
          name: service.name,
          port: service.port,
        },
      ];
    });
    references.set(graph, found);
  }
  return found;
}
