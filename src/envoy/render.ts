import type { ResourceSet } from './resource-set.ts';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, type ResourceTypeUrl } from './type-urls.ts';

const sections: readonly [string, ResourceTypeUrl][] = [
  ['clusters', CLUSTER],
  ['endpoints', ENDPOINT],
  ['listeners', LISTENER],
  ['routes', ROUTE],
];

/** The resources as one JSON document, in push order: what `compile` prints and golden files pin. */
export function renderResources(resources: ResourceSet): string {
  const document = Object.fromEntries(
    sections.map(([section, typeUrl]) => [section, [...(resources.get(typeUrl)?.values() ?? [])]]),
  );
  return `${JSON.stringify(document, null, 2)}\n`;
}
