import type { EnvoyResource, ResourceChanges, ResourceSet, TypeChanges } from './resource-set.ts';
import type { ResourceTypeUrl } from './type-urls.ts';

interface TypeEdit {
  readonly base: ReadonlyMap<string, EnvoyResource>;
  readonly map: Map<string, EnvoyResource>;
  readonly updated: Set<string>;
  readonly removed: Set<string>;
}

/**
 * Edits of a resource set, copy-on-write per type: a type no edit changed,
 * or whose edits cancel out, stays the same map object (copying a map of
 * ten thousand resources is most of what a small change would cost), and
 * the changes name exactly what differs from the set the edits started from.
 */
export class ResourceEdits {
  readonly #base: ResourceSet;
  readonly #edits = new Map<ResourceTypeUrl, TypeEdit>();

  constructor(base: ResourceSet) {
    this.#base = base;
  }

  set(type: ResourceTypeUrl, name: string, resource: EnvoyResource): void {
    if (!this.#edits.has(type) && this.#base.get(type)?.get(name) === resource) return;
    const edit = this.#edit(type);
    edit.map.set(name, resource);
    if (edit.removed.size > 0) edit.removed.delete(name);
    if (edit.base.size > 0 && edit.base.get(name) === resource) edit.updated.delete(name);
    else edit.updated.add(name);
  }

  remove(type: ResourceTypeUrl, name: string): void {
    if (!this.#edits.has(type) && this.#base.get(type)?.has(name) !== true) return;
    const edit = this.#edit(type);
    edit.map.delete(name);
    edit.updated.delete(name);
    if (edit.base.has(name)) edit.removed.add(name);
  }

  has(type: ResourceTypeUrl, name: string): boolean {
    return (this.#edits.get(type)?.map ?? this.#base.get(type))?.has(name) === true;
  }

  result(): { resources: ResourceSet; changes: ResourceChanges } {
    const resources = new Map(this.#base);
    const changes = new Map<ResourceTypeUrl, TypeChanges>();
    for (const [type, edit] of this.#edits) {
      if (edit.updated.size === 0 && edit.removed.size === 0) continue;
      resources.set(type, edit.map);
      changes.set(type, { base: edit.base, updated: edit.updated, removed: edit.removed });
    }
    return { resources, changes };
  }

  #edit(type: ResourceTypeUrl): TypeEdit {
    let edit = this.#edits.get(type);
    if (!edit) {
      const base = this.#base.get(type) ?? new Map<string, EnvoyResource>();
      edit = { base, map: new Map(base), updated: new Set(), removed: new Set() };
      this.#edits.set(type, edit);
    }
    return edit;
  }
}
