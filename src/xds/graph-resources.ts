import type { ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { GroupSnapshot, VersionedResource } from './cache.ts';
import type { FactsOf } from './envoy-view.ts';

export interface GraphResource {
  readonly typeUrl: ResourceTypeUrl;
  readonly resource: VersionedResource;
}

/** Built once per snapshot, however many Envoys are asked about it. */
const indexes = new WeakMap<GroupSnapshot, ReadonlyMap<string, readonly GraphResource[]>>();

/** Every graph of a snapshot with the resources that carry it: what "programmed" is checked on. */
export function graphResources(
  snapshot: GroupSnapshot,
  factsOf: FactsOf,
): ReadonlyMap<string, readonly GraphResource[]> {
  let index = indexes.get(snapshot);
  if (!index) {
    const byGraph = new Map<string, GraphResource[]>();
    for (const [typeUrl, type] of snapshot) {
      for (const resource of type.resources.values()) {
        for (const graph of factsOf(typeUrl, resource).graphs) {
          const resources = byGraph.get(graph);
          if (resources) resources.push({ typeUrl, resource });
          else byGraph.set(graph, [{ typeUrl, resource }]);
        }
      }
    }
    index = byGraph;
    indexes.set(snapshot, index);
  }
  return index;
}
