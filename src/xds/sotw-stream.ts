import { ROUTE, type ResourceTypeUrl } from '../envoy/type-urls.ts';
import {
  versionOf,
  type GroupSnapshot,
  type SnapshotCache,
  type VersionedResource,
} from './cache.ts';
import type { DiscoveryCodec, DiscoveryRequest, DiscoveryResponse } from './discovery-codec.ts';
import {
  XdsStream,
  isPushedType,
  sameNames,
  wildcardTypes,
  type StreamEvents,
  type TypeState,
} from './xds-stream.ts';

/**
 * State of the world. Every type goes whole but route tables: Envoy asks for
 * those by name and updates just the ones a response carries, so a route
 * response carries only the tables that changed since this stream sent
 * them: one graph's table, not ten thousand. (Endpoints could go the same
 * way; they change rarely, and whole they keep removals visible.)
 */
export class SotwStream extends XdsStream {
  readonly protocol = 'sotw';
  readonly #codec: DiscoveryCodec;
  readonly #write: (response: DiscoveryResponse) => void;
  /** Route table name → the version this stream last sent. */
  readonly #sentTables = new Map<string, string>();

  constructor(
    cache: SnapshotCache,
    codec: DiscoveryCodec,
    write: (r: DiscoveryResponse) => void,
    events: StreamEvents,
  ) {
    super(cache, events);
    this.#codec = codec;
    this.#write = write;
  }

  onRequest(request: DiscoveryRequest): void {
    this.identify(request.node);
    const typeUrl = request.type_url;
    if (!isPushedType(typeUrl)) return;
    const { state, first } = this.stateOf(typeUrl);
    // Answers to older responses (stale nonces) only carry subscriptions.
    if (state.sent && request.response_nonce === state.sent.nonce) {
      this.answered(typeUrl, state, request.error_detail, request.version_info);
    }
    const names = wildcardTypes.has(typeUrl) ? undefined : new Set(request.resource_names);
    const changed = !sameNames(state.names, names);
    // A table Envoy let go of must be sent again if it is asked for again.
    if (typeUrl === ROUTE) {
      for (const name of this.#sentTables.keys()) {
        if (!names?.has(name)) this.#sentTables.delete(name);
      }
    }
    state.names = names;
    this.subscriptionChanged(typeUrl, first, changed);
  }

  protected send(
    typeUrl: ResourceTypeUrl,
    snapshot: GroupSnapshot,
    extra: readonly VersionedResource[],
  ): Promise<void> | undefined {
    const state = this.types.get(typeUrl);
    if (!state || this.upToDate(state, typeUrl, snapshot, extra)) return undefined;
    const resources = this.wanted(state, snapshot, typeUrl, extra);
    const version = versionOf(resources);
    const names = new Set(resources.map((r) => r.name));
    const unchanged = state.sent?.version === version && sameNames(state.sent.names, names);
    if (extra.length === 0) state.basis = snapshot.get(typeUrl);
    if (unchanged && !state.resendEvenIfUnchanged) return undefined;
    const carried = typeUrl === ROUTE ? this.#changedTables(state, resources) : resources;
    const { nonce, answered } = this.recordSend(typeUrl, state, version, { resources, names });
    this.#write({
      version_info: version,
      resources: carried.map((r) => this.#codec.any(r)),
      type_url: typeUrl,
      nonce,
    });
    return answered;
  }

  /** The tables whose version this stream has not sent yet; remembers them as sent. */
  #changedTables(
    state: TypeState,
    tables: readonly VersionedResource[],
  ): readonly VersionedResource[] {
    const changed = state.resendEvenIfUnchanged
      ? tables
      : tables.filter((t) => this.#sentTables.get(t.name) !== t.version);
    for (const t of changed) this.#sentTables.set(t.name, t.version);
    return changed;
  }
}
