import { ROUTE, type ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { SnapshotCache } from './cache.ts';
import type { DiscoveryCodec, DiscoveryRequest, DiscoveryResponse } from './discovery-codec.ts';
import type { NodeMemory } from './node-memory.ts';
import {
  XdsStream,
  sameNames,
  wildcardTypes,
  type OutgoingResponse,
  type StreamEvents,
} from './xds-stream.ts';

/**
 * State of the world. Every type goes whole but route tables: Envoy asks for
 * those by name and updates just the ones a response carries, so after the
 * first a route response carries only the tables Envoy does not run yet:
 * one graph's table, not ten thousand. (Endpoints could go the same way;
 * they change rarely.)
 */
export class SotwStream extends XdsStream {
  readonly protocol = 'sotw';
  protected readonly answersEveryFirstRequest = true;
  readonly #codec: DiscoveryCodec;
  readonly #write: (response: DiscoveryResponse) => void;

  constructor(
    cache: SnapshotCache,
    codec: DiscoveryCodec,
    write: (r: DiscoveryResponse) => void,
    events: StreamEvents,
    memory?: NodeMemory,
  ) {
    super(cache, events, memory);
    this.#codec = codec;
    this.#write = write;
  }

  onRequest(request: DiscoveryRequest): void {
    this.identify(request.node);
    const typeUrl = request.type_url;
    this.request(
      typeUrl,
      { nonce: request.response_nonce, error: request.error_detail },
      // Envoy says which version it last accepted, nothing per resource.
      { empty: request.version_info === '' },
      (state, view) => {
        if (wildcardTypes.has(typeUrl)) return false;
        const names = new Set(request.resource_names);
        const before = state.names;
        for (const name of before ?? []) {
          if (!names.has(name)) this.unsubscribed(state, view, name);
        }
        state.names = names;
        return !sameNames(before, names);
      },
    );
  }

  protected carriesWhole(typeUrl: ResourceTypeUrl, first: boolean): boolean {
    return first || typeUrl !== ROUTE;
  }

  /** A whole response leaves out what Envoy is no longer to have (named endpoints too, whatever Envoy makes of it). */
  protected removes(typeUrl: ResourceTypeUrl): boolean {
    return typeUrl !== ROUTE;
  }

  protected write(typeUrl: ResourceTypeUrl, response: OutgoingResponse): void {
    this.#write({
      version_info: response.version,
      resources: response.carried.map((r) => this.#codec.any(r)),
      type_url: typeUrl,
      nonce: response.nonce,
    });
  }
}
