import type { ResourceTypeUrl } from '../envoy/type-urls.ts';
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
} from './xds-stream.ts';

/** State of the world: every response carries all the resources of its type Envoy asked for. */
export class SotwStream extends XdsStream {
  readonly protocol = 'sotw';
  readonly #codec: DiscoveryCodec;
  readonly #write: (response: DiscoveryResponse) => void;

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
    state.names = names;
    this.subscriptionChanged(typeUrl, first, changed);
  }

  protected send(
    typeUrl: ResourceTypeUrl,
    snapshot: GroupSnapshot,
    extra: readonly VersionedResource[],
  ): Promise<void> | undefined {
    const state = this.types.get(typeUrl);
    if (!state) return undefined;
    const resources = this.wanted(state, snapshot, typeUrl, extra);
    const version = versionOf(resources);
    const names = new Set(resources.map((r) => r.name));
    const unchanged = state.sent?.version === version && sameNames(state.sent.names, names);
    if (unchanged && !state.resendEvenIfUnchanged) return undefined;
    const { nonce, answered } = this.recordSend(typeUrl, state, version, resources);
    this.#write({
      version_info: version,
      resources: resources.map((r) => this.#codec.any(r)),
      type_url: typeUrl,
      nonce,
    });
    return answered;
  }
}
