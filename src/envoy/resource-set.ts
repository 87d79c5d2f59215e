import type { ResourceTypeUrl } from './type-urls.ts';

/** An Envoy resource in proto3 JSON with Envoy's field names and an "@type". */
export type EnvoyResource = Readonly<Record<string, unknown>> & { readonly name?: string };

/** Resources by type URL, then by name. Name order is not kept: whoever shows them sorts. */
export type ResourceSet = ReadonlyMap<ResourceTypeUrl, ReadonlyMap<string, EnvoyResource>>;

/** How one type's resources differ from `base`, the map they were edited from. */
export interface TypeChanges {
  readonly base: ReadonlyMap<string, EnvoyResource>;
  /** Names added, or now holding another object. */
  readonly updated: ReadonlySet<string>;
  readonly removed: ReadonlySet<string>;
}

/** The changes of the types that changed; a type not listed is the very map it was. */
export type ResourceChanges = ReadonlyMap<ResourceTypeUrl, TypeChanges>;
