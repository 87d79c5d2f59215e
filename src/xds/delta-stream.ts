import type { ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { SnapshotCache } from './cache.ts';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryCodec,
} from './discovery-codec.ts';
import type { NodeMemory } from './node-memory.ts';
import {
  XdsStream,
  wildcardTypes,
  type OutgoingResponse,
  type StreamEvents,
} from './xds-stream.ts';

/**
 * Incremental xDS: a response carries only the resources whose version
 * differs from what Envoy runs, and names the ones removed. On reconnect
 * Envoy's initial_resource_versions say what it has.
 */
export class DeltaStream extends XdsStream {
  readonly protocol = 'delta';
  protected readonly answersEveryFirstRequest = false;
  readonly #codec: DiscoveryCodec;
  readonly #write: (response: DeltaDiscoveryResponse) => void;

  constructor(
    cache: SnapshotCache,
    codec: DiscoveryCodec,
    write: (r: DeltaDiscoveryResponse) => void,
    events: StreamEvents,
    memory?: NodeMemory,
  ) {
    super(cache, events, memory);
    this.#codec = codec;
    this.#write = write;
  }

  onRequest(request: DeltaDiscoveryRequest): void {
    this.identify(request.node);
    const typeUrl = request.type_url;
    const versions = request.initial_resource_versions;
    this.request(
      typeUrl,
      { nonce: request.response_nonce, error: request.error_detail },
      { empty: Object.keys(versions).length === 0, versions },
      (state, view) => {
        if (wildcardTypes.has(typeUrl)) return false;
        let changed = false;
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
          this.unsubscribed(state, view, name);
        }
        return changed;
      },
    );
  }

  protected carriesWhole(): boolean {
    return false;
  }

  protected removes(): boolean {
    return true;
  }

  protected write(typeUrl: ResourceTypeUrl, response: OutgoingResponse): void {
    this.#write({
      system_version_info: response.version,
      resources: response.carried.map((r) => ({
        name: r.name,
        version: r.version,
        resource: this.#codec.any(r),
      })),
      type_url: typeUrl,
      removed_resources: [...response.removed],
      nonce: response.nonce,
    });
  }
}
