import type { ResourceTypeUrl } from '../envoy/type-urls.ts';
import {
  versionOf,
  type GroupSnapshot,
  type SnapshotCache,
  type VersionedResource,
} from './cache.ts';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryCodec,
} from './discovery-codec.ts';
import { XdsStream, isPushedType, wildcardTypes, type StreamEvents } from './xds-stream.ts';

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
  /** Per type: resource name → the version Envoy has. */
  readonly #has = new Map<string, Map<string, string>>();

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

  #hasOf(typeUrl: string): Map<string, string> {
    let has = this.#has.get(typeUrl);
    if (!has) {
      has = new Map();
      this.#has.set(typeUrl, has);
    }
    return has;
  }

  protected send(
    typeUrl: ResourceTypeUrl,
    snapshot: GroupSnapshot,
    extra: readonly VersionedResource[],
  ): Promise<void> | undefined {
    const state = this.types.get(typeUrl);
    if (!state || this.upToDate(state, typeUrl, snapshot, extra)) return undefined;
    const has = this.#hasOf(typeUrl);
    const wanted = this.wanted(state, snapshot, typeUrl, extra);
    const wantedNames = new Set(wanted.map((r) => r.name));
    const resend = state.resendEvenIfUnchanged;
    const updated = wanted.filter((r) => resend || has.get(r.name) !== r.version);
    const removed = [...has.keys()].filter((name) => !wantedNames.has(name));
    if (extra.length === 0) state.basis = snapshot.get(typeUrl);
    // A fresh Envoy's listener waits for a first answer, so that one goes out even empty (no
    // graphs, no scopes); an Envoy that already has resources needs none.
    const nothingToSay = updated.length === 0 && removed.length === 0;
    if (nothingToSay && (state.sent !== undefined || has.size > 0)) return undefined;
    const version = versionOf(wanted);
    const { nonce, answered } = this.recordSend(typeUrl, state, version, wanted);
    for (const r of updated) has.set(r.name, r.version);
    for (const name of removed) has.delete(name);
    this.#write({
      system_version_info: version,
      resources: updated.map((r) => ({
        name: r.name,
        version: r.version,
        resource: this.#codec.any(r),
      })),
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
    });
    return answered;
  }
}
