import type { ResourceTypeUrl } from './type-urls.ts';

/** An Envoy resource in proto3 JSON with Envoy's field names and an "@type". */
export type EnvoyResource = Readonly<Record<string, unknown>> & { readonly name?: string };

/** Resources by type URL, then by name; iteration order is name order. */
export type ResourceSet = ReadonlyMap<ResourceTypeUrl, ReadonlyMap<string, EnvoyResource>>;
