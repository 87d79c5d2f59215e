import { CLUSTER, type ResourceTypeUrl } from '../envoy/type-urls.ts';
import {
  digestOf,
  showDigest,
  type GroupSnapshot,
  type SnapshotCache,
  type TypeSnapshot,
  type VersionedResource,
} from './cache.ts';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryCodec,
} from './discovery-codec.ts';
import {
  XdsStream,
  isPushedType,
  wildcardTypes,
  type StreamEvents,
  type TypeState,
  type WholeSend,
} from './xds-stream.ts';

/**
 * Incremental xDS: a response carries only the resources whose version
 * differs from what Envoy has, and names the ones removed. What Envoy has is
 * tracked per resource: seeded from initial_resource_versions on reconnect,
 * then updated with every response (a NACKed version counts as had, so a
 * rejected resource is not resent until it changes).
 */
export class DeltaStream extends XdsStream {
  readonly protocol = 'delta';
  readonly #codec: DiscoveryCodec;
  readonly #write: (response: DeltaDiscoveryResponse) => void;
  /** Per type: what Envoy has, by resource name. */
  readonly #has = new Map<string, Had>();

  constructor(
    cache: SnapshotCache,
    codec: DiscoveryCodec,
    write: (r: DeltaDiscoveryResponse) => void,
    events: StreamEvents,
  ) {
    super(cache, events);
    this.#codec = codec;
    this.#write = write;
  }

  onRequest(request: DeltaDiscoveryRequest): void {
    this.identify(request.node);
    const typeUrl = request.type_url;
    if (!isPushedType(typeUrl)) return;
    const { state, first } = this.stateOf(typeUrl);
    const has = this.#hasOf(typeUrl);
    if (first) {
      for (const [name, version] of Object.entries(request.initial_resource_versions)) {
        has.set(name, version);
      }
    }
    if (state.sent && request.response_nonce === state.sent.nonce) {
      this.answered(typeUrl, state, request.error_detail, state.sent.version);
    }
    let changed = false;
    if (!wildcardTypes.has(typeUrl)) {
      state.names ??= new Set();
      for (const name of request.resource_names_subscribe) {
        if (!state.names.has(name)) {
          state.names.add(name);
          changed = true;
        }
      }
      for (const name of request.resource_names_unsubscribe) {
        // An unsubscribe of a name never subscribed (a phantom) changes nothing.
        if (state.names.delete(name)) changed = true;
        // Envoy drops what it unsubscribed from: a later subscribe must send it again.
        has.delete(name);
      }
    }
    this.subscriptionChanged(typeUrl, first, changed);
  }

  #hasOf(typeUrl: string): Had {
    let has = this.#has.get(typeUrl);
    if (!has) {
      has = new Had();
      this.#has.set(typeUrl, has);
    }
    return has;
  }

  /**
   * What changed since the type snapshot this type was last brought up to
   * date with, when the cache knows it and nothing else has to go along:
   * then a response costs what changed, not every resource of the type.
   * Clusters always take the long way: stale ones ride along with them.
   */
  #step(state: TypeState, type: TypeSnapshot | undefined, typeUrl: ResourceTypeUrl) {
    const delta = type?.delta;
    if (
      typeUrl === CLUSTER ||
      !delta ||
      state.resendEvenIfUnchanged ||
      state.basis === undefined ||
      delta.from.deref() !== state.basis
    ) {
      return undefined;
    }
    const wanted = (name: string) => state.names === undefined || state.names.has(name);
    return {
      updated: delta.updated.filter((r) => wanted(r.name)),
      removed: delta.removed,
    };
  }

  protected send(
    typeUrl: ResourceTypeUrl,
    snapshot: GroupSnapshot,
    extra: readonly VersionedResource[],
  ): Promise<void> | undefined {
    const state = this.types.get(typeUrl);
    if (!state || this.upToDate(state, typeUrl, snapshot, extra)) return undefined;
    const has = this.#hasOf(typeUrl);
    const type = snapshot.get(typeUrl);
    const step = extra.length === 0 ? this.#step(state, type, typeUrl) : undefined;
    let updated: readonly VersionedResource[];
    let removed: readonly string[];
    let whole: WholeSend | undefined;
    if (step) {
      updated = step.updated.filter((r) => has.versionOf(r.name) !== r.version);
      removed = step.removed.filter((name) => has.versionOf(name) !== undefined);
    } else {
      const wanted = this.wanted(state, snapshot, typeUrl, extra);
      const names = new Set(wanted.map((r) => r.name));
      whole = { resources: wanted, names };
      const resend = state.resendEvenIfUnchanged;
      updated = wanted.filter((r) => resend || has.versionOf(r.name) !== r.version);
      removed = [...has.names()].filter((name) => !names.has(name));
    }
    if (extra.length === 0) state.basis = type;
    // A fresh Envoy's listener waits for a first answer, so that one goes out even empty (no
    // graphs, no scopes); an Envoy that already has resources needs none.
    const nothingToSay = updated.length === 0 && removed.length === 0;
    if (nothingToSay && (state.sent !== undefined || has.size > 0)) return undefined;
    for (const r of updated) has.set(r.name, r.version, r.digest);
    for (const name of removed) has.delete(name);
    // After this response Envoy has exactly what it wants: its version is what it has.
    const { nonce, answered } = this.recordSend(typeUrl, state, has.version, whole);
    this.#write({
      system_version_info: has.version,
      resources: updated.map((r) => ({
        name: r.name,
        version: r.version,
        resource: this.#codec.any(r),
      })),
      type_url: typeUrl,
      removed_resources: [...removed],
      nonce,
    });
    return answered;
  }
}

/**
 * The resources of one type an Envoy has, by name, and the version of them
 * all (the cache's sum of digests), kept as they come and go.
 */
class Had {
  readonly #versions = new Map<string, { version: string; digest: bigint }>();
  #sum = 0n;

  get size(): number {
    return this.#versions.size;
  }

  /** The version of everything had: the cache's sum of digests. */
  get version(): string {
    return showDigest(this.#sum);
  }

  versionOf(name: string): string | undefined {
    return this.#versions.get(name)?.version;
  }

  names(): IterableIterator<string> {
    return this.#versions.keys();
  }

  /** `digest` is the cache's when it is at hand; Envoy's initial versions come without. */
  set(name: string, version: string, digest = digestOf(name, version)): void {
    this.delete(name);
    this.#versions.set(name, { version, digest });
    this.#sum += digest;
  }

  delete(name: string): void {
    const had = this.#versions.get(name);
    if (!had) return;
    this.#sum -= had.digest;
    this.#versions.delete(name);
  }
}
