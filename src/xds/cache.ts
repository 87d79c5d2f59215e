import { createHash } from 'node:crypto';
import type { EnvoyResource, ResourceSet } from '../envoy/resource-set.ts';
import type { ResourceTypeUrl } from '../envoy/type-urls.ts';

/**
 * Versioned resource sets per Envoy node group. Knows versions and
 * resources, nothing of gRPC streams (the server's business).
 *
 * An Envoy belongs to the group named by its bootstrap's node.cluster; an
 * Envoy whose group has no snapshot of its own gets DEFAULT_GROUP's.
 */
export const DEFAULT_GROUP = 'switchyard';

export interface VersionedResource {
  readonly name: string;
  /** Content hash: an unchanged resource keeps its version across snapshots. */
  readonly version: string;
  readonly resource: EnvoyResource;
}

export interface TypeSnapshot {
  /** Hash over the names and versions of the type's resources. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, VersionedResource>;
}

export type GroupSnapshot = ReadonlyMap<ResourceTypeUrl, TypeSnapshot>;

function hash(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The version of a set of resources: order-independent, content-derived. */
export function versionOf(resources: Iterable<VersionedResource>): string {
  const parts = [...resources].map((r) => `${r.name}@${r.version}`).sort();
  return hash(parts.join('\n'));
}

/** What a resource's version is derived from: by default its JSON. */
export type Fingerprint = (resource: EnvoyResource) => string | Uint8Array;

export class SnapshotCache {
  readonly #groups = new Map<string, GroupSnapshot>();
  readonly #watchers = new Set<() => void>();
  readonly #fingerprint: Fingerprint;
  /**
   * Versions by resource object: the translator hands back the same objects
   * for unchanged graphs, so a one-graph change hashes that graph's resources
   * and the tables that list every graph, not everything.
   */
  readonly #versions = new WeakMap<EnvoyResource, string>();

  constructor(fingerprint: Fingerprint = (resource) => JSON.stringify(resource)) {
    this.#fingerprint = fingerprint;
  }

  /**
   * Replaces a group's resources. Resources whose content did not change keep
   * their version object, so streams can tell what really changed. Returns
   * false, and notifies nobody, when nothing changed.
   */
  setSnapshot(group: string, resources: ResourceSet): boolean {
    const previous = this.#groups.get(group);
    const next = new Map<ResourceTypeUrl, TypeSnapshot>();
    let changed = previous === undefined || previous.size !== resources.size;
    for (const [typeUrl, byName] of resources) {
      const before = previous?.get(typeUrl);
      const versioned = new Map<string, VersionedResource>();
      let reusedAll = before?.resources.size === byName.size;
      for (const [name, resource] of byName) {
        const version = this.#versionOf(resource);
        const old = before?.resources.get(name);
        if (old?.version === version) {
          versioned.set(name, old);
        } else {
          versioned.set(name, { name, version, resource });
          reusedAll = false;
        }
      }
      // Sorting every name again is what a one-graph change must not cost.
      const version = before && reusedAll ? before.version : versionOf(versioned.values());
      if (before?.version === version) {
        next.set(typeUrl, before);
      } else {
        next.set(typeUrl, { version, resources: versioned });
        changed = true;
      }
    }
    if (!changed) return false;
    this.#groups.set(group, next);
    for (const watcher of this.#watchers) watcher();
    return true;
  }

  #versionOf(resource: EnvoyResource): string {
    let version = this.#versions.get(resource);
    if (version === undefined) {
      version = hash(this.#fingerprint(resource));
      this.#versions.set(resource, version);
    }
    return version;
  }

  /** The snapshot an Envoy of `group` gets: its own, else the default group's. */
  snapshotFor(group: string): GroupSnapshot | undefined {
    return this.#groups.get(group) ?? this.#groups.get(DEFAULT_GROUP);
  }

  /** Calls `watcher` after every change; returns the unsubscribe function. */
  watch(watcher: () => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }
}
