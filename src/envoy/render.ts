import type { EnvoyResource, ResourceSet } from './resource-set.ts';
import {
  CLUSTER,
  ENDPOINT,
  EXECUTION_PLAN,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  SCOPED_ROUTE,
  type ResourceTypeUrl,
} from './type-urls.ts';

const sections: readonly [string, ResourceTypeUrl][] = [
  ['clusters', CLUSTER],
  ['endpoints', ENDPOINT],
  ['listeners', LISTENER],
  ['extension_configs', EXTENSION_CONFIG],
  ['scopes', SCOPED_ROUTE],
  ['routes', ROUTE],
  ['execution_plans', EXECUTION_PLAN],
];

/** The resources by section ("clusters", "routes", ...) in push order, each as [name, resource] in name order. */
export function resourceSections(resources: ResourceSet): [string, [string, EnvoyResource][]][] {
  return sections.flatMap(([section, typeUrl]): [string, [string, EnvoyResource][]][] => {
    const named = [...(resources.get(typeUrl) ?? [])];
    // Executors' plans are shown only where a graph has one too large for its header.
    if (typeUrl === EXECUTION_PLAN && named.length === 0) return [];
    return [[section, named.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]];
  });
}

/** The resources as one JSON document, sections as above: what `compile` prints. */
export function renderResources(resources: ResourceSet): string {
  const document = resourceSections(resources).map(([section, named]) => [
    section,
    named.map(([, resource]) => resource),
  ]);
  return `${JSON.stringify(Object.fromEntries(document), null, 2)}\n`;
}
