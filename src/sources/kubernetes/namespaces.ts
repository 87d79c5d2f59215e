/**
 * The namespaces a controller watches: every one (a single `undefined`),
 * or those listed. Each gets an informer of its own per kind.
 */
export type Namespaces = readonly (string | undefined)[];

export function watchedNamespaces(listed: readonly string[] | undefined): Namespaces {
  return listed === undefined || listed.length === 0 ? [undefined] : [...new Set(listed)];
}

export function isWatched(namespaces: Namespaces, namespace: string): boolean {
  return namespaces.some((watched) => watched === undefined || watched === namespace);
}
