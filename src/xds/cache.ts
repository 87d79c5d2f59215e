import { createHash } from 'node:crypto';
import type {
  EnvoyResource,
  ResourceChanges,
  ResourceSet,
  TypeChanges,
} from '../envoy/resource-set.ts';
import { resourceFacts, type ResourceFacts } from '../envoy/resource-facts.ts';
import type { ResourceTypeUrl } from '../envoy/type-urls.ts';
import { LayeredMap } from './layered-map.ts';

/**
 * Versioned resource sets per Envoy node group. Knows versions and
 * resources, nothing of gRPC streams (the server's business).
 *
 * An Envoy belongs to the group named by its bootstrap's node.cluster (under
 * mutual TLS, by its client certificate: xds/peer-group.ts); an
 * Envoy whose group has no snapshot of its own gets DEFAULT_GROUP's.
 */
export const DEFAULT_GROUP = 'switchyard';

export interface VersionedResource {
  readonly name: string;
  /** Content hash: an unchanged resource keeps its version across snapshots. */
  readonly version: string;
  /** Hash of name and version, summed into the version of a set of resources. */
  readonly digest: bigint;
  readonly resource: EnvoyResource;
}

/** How a type snapshot differs from the one it replaced. */
export interface TypeDelta {
  /** Held weakly: a snapshot no stream stands on any more need not be kept for its successor. */
  readonly from: WeakRef<TypeSnapshot>;
  readonly updated: readonly VersionedResource[];
  readonly removed: readonly string[];
}

export interface TypeSnapshot {
  /** Sum of the resources' digests: order-independent, content-derived. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, VersionedResource>;
  /** Set when the cache was told what changed: a stream that has `from` needs only this. */
  readonly delta?: TypeDelta;
}

export type GroupSnapshot = ReadonlyMap<ResourceTypeUrl, TypeSnapshot>;

function hash(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const digestBits = 64n;
const digestMask = (1n << digestBits) - 1n;

/** The digest of one resource version, as the cache and the streams sum it. */
export function digestOf(name: string, version: string): bigint {
  return BigInt(`0x${hash(`${name}@${version}`)}`);
}

export function showDigest(sum: bigint): string {
  return (sum & digestMask).toString(16).padStart(16, '0');
}

/**
 * The version of a set of resources: the sum of their digests, so it needs
 * no sorting and follows a change by adding and subtracting what changed.
 */
export function versionOf(resources: Iterable<VersionedResource>): string {
  let sum = 0n;
  for (const resource of resources) sum += resource.digest;
  return showDigest(sum);
}

/** What a resource's version is derived from: by default its JSON. */
export type Fingerprint = (resource: EnvoyResource) => string | Uint8Array;

/** What the streams must know of a resource: its graphs, what it needs, what it provides. */
export type Describe = (
  typeUrl: ResourceTypeUrl,
  name: string,
  resource: EnvoyResource,
) => ResourceFacts;

interface GroupState {
  readonly snapshot: GroupSnapshot;
  /** Per type, the translator's map the type snapshot was made from. */
  readonly sources: ReadonlyMap<ResourceTypeUrl, ReadonlyMap<string, EnvoyResource>>;
}

export class SnapshotCache {
  readonly #groups = new Map<string, GroupState>();
  readonly #watchers = new Set<() => void>();
  readonly #fingerprint: Fingerprint;
  /**
   * Versions by resource object: the translator hands back the same objects
   * for unchanged graphs, so a change hashes only the resources it made.
   */
  readonly #versions = new WeakMap<EnvoyResource, string>();
  readonly #describe: Describe;
  /** Facts by resource version, read once however many streams ask. */
  readonly #facts = new WeakMap<VersionedResource, ResourceFacts>();

  constructor(
    fingerprint: Fingerprint = (resource) => JSON.stringify(resource),
    describe: Describe = resourceFacts,
  ) {
    this.#fingerprint = fingerprint;
    this.#describe = describe;
  }

  factsOf(typeUrl: ResourceTypeUrl, resource: VersionedResource): ResourceFacts {
    let facts = this.#facts.get(resource);
    if (!facts) {
      facts = this.#describe(typeUrl, resource.name, resource.resource);
      this.#facts.set(resource, facts);
    }
    return facts;
  }

  /**
   * Replaces a group's resources. Resources whose content did not change keep
   * their version object, so streams can tell what really changed. Returns
   * false, and notifies nobody, when nothing changed.
   *
   * `changes`, when given, names what differs from the maps the group's
   * snapshot was made from: a type is then versioned from its changes alone.
   */
  setSnapshot(group: string, resources: ResourceSet, changes?: ResourceChanges): boolean {
    const previous = this.#groups.get(group);
    const snapshot = new Map<ResourceTypeUrl, TypeSnapshot>();
    let changed = previous === undefined || previous.snapshot.size !== resources.size;
    for (const [typeUrl, byName] of resources) {
      const before = previous?.snapshot.get(typeUrl);
      const source = previous?.sources.get(typeUrl);
      const typeChanges = changes?.get(typeUrl);
      let next: TypeSnapshot;
      if (before && source === byName) next = before;
      else if (before && typeChanges && typeChanges.base === source) {
        next = this.#edited(before, byName, typeChanges);
      } else next = this.#versioned(before, byName);
      snapshot.set(typeUrl, next);
      if (next !== before) changed = true;
    }
    this.#groups.set(group, { snapshot, sources: resources });
    if (!changed) return false;
    for (const watcher of this.#watchers) watcher();
    return true;
  }

  /** A type versioned from the changes of its source map alone, at the cost of those changes. */
  #edited(
    before: TypeSnapshot,
    byName: ReadonlyMap<string, EnvoyResource>,
    changes: TypeChanges,
  ): TypeSnapshot {
    const updated: VersionedResource[] = [];
    const removed: string[] = [];
    // The version is the digest sum itself: adding and subtracting follows the change.
    let next = BigInt(`0x${before.version}`);
    for (const name of changes.removed) {
      const old = before.resources.get(name);
      if (!old) continue;
      next -= old.digest;
      removed.push(name);
    }
    const updates = new Map<string, VersionedResource>();
    for (const name of changes.updated) {
      const resource = byName.get(name);
      if (!resource) continue;
      const old = changes.removed.has(name) ? undefined : before.resources.get(name);
      const versioned = this.#versionedResource(name, resource, old);
      if (versioned === old) continue;
      if (old) next -= old.digest;
      next += versioned.digest;
      updates.set(name, versioned);
      updated.push(versioned);
    }
    if (updated.length === 0 && removed.length === 0) return before;
    const resources = LayeredMap.edit(before.resources, updates, removed);
    const delta = { from: new WeakRef(before), updated, removed };
    return { version: showDigest(next), resources, delta };
  }

  /** A type versioned by looking at every resource. */
  #versioned(
    before: TypeSnapshot | undefined,
    byName: ReadonlyMap<string, EnvoyResource>,
  ): TypeSnapshot {
    const resources = new Map<string, VersionedResource>();
    let sum = 0n;
    let reusedAll = before?.resources.size === byName.size;
    for (const [name, resource] of byName) {
      const old = before?.resources.get(name);
      const versioned = this.#versionedResource(name, resource, old);
      if (versioned !== old) reusedAll = false;
      resources.set(name, versioned);
      sum += versioned.digest;
    }
    if (before && reusedAll) return before;
    return { version: showDigest(sum), resources };
  }

  /** `old` if the resource's content is unchanged, else a new versioned resource. */
  #versionedResource(
    name: string,
    resource: EnvoyResource,
    old: VersionedResource | undefined,
  ): VersionedResource {
    let version = this.#versions.get(resource);
    if (version === undefined) {
      version = hash(this.#fingerprint(resource));
      this.#versions.set(resource, version);
    }
    if (old?.version === version) return old;
    return { name, version, digest: digestOf(name, version), resource };
  }

  /** The snapshot an Envoy of `group` gets: its own, else the default group's. */
  snapshotFor(group: string): GroupSnapshot | undefined {
    return (this.#groups.get(group) ?? this.#groups.get(DEFAULT_GROUP))?.snapshot;
  }

  /** Calls `watcher` after every change; returns the unsubscribe function. */
  watch(watcher: () => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }
}
