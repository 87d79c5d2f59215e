import type { ResourceSet } from './resource-set.ts';
import {
  CLUSTER,
  ENDPOINT,
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
];

/**
 * The resources as one JSON document, in push order and by name within a
 * type: what `compile` prints and golden files pin.
 */
export function renderResources(resources: ResourceSet): string {
  const document = Object.fromEntries(
    sections.map(([section, typeUrl]) => {
      const byName = [...(resources.get(typeUrl) ?? [])].sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      return [section, byName.map(([, resource]) => resource)];
    }),
  );
  return `${JSON.stringify(document, null, 2)}\n`;
}
