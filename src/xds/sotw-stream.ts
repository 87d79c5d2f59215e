import { ROUTE, type ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { DiscoveryRequest, DiscoveryResponse } from './discovery-codec.ts';
import { XdsStream, sameNames, wildcardTypes, type OutgoingResponse } from './xds-stream.ts';

/**
 * State of the world. Every type goes whole but route tables: Envoy asks for
 * those by name and updates just the ones a response carries, so after the
 * first a route response carries only the tables Envoy does not run yet:
 * one graph's table, not ten thousand. (Endpoints could go the same way;
 * they change rarely.)
 */
export class SotwStream extends XdsStream<DiscoveryResponse> {
  readonly protocol = 'sotw';
  protected readonly answersEveryFirstRequest = true;
  /** Per type, the names the last request asked for, as Envoy listed them. */
  readonly #asked = new Map<string, readonly string[]>();
  onRequest(request: DiscoveryRequest): void {
    const typeUrl = request.type_url;
    this.request(
      request.node,
      typeUrl,
      { nonce: request.response_nonce, error: request.error_detail },
      // Envoy says which version it last accepted, nothing per resource.
      { empty: request.version_info === '' },
      (state, view) => {
        if (wildcardTypes.has(typeUrl)) return false;
        // Every ACK names every table again (ten thousand at 10,000 graphs): the same list
        // in the same order is the same subscription, told without building a set of it.
        const asked = request.resource_names;
        if (state.names !== undefined && sameList(asked, this.#asked.get(typeUrl))) return false;
        this.#asked.set(typeUrl, asked);
        const names = new Set(asked);
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

  protected format(typeUrl: ResourceTypeUrl, response: OutgoingResponse): DiscoveryResponse {
    return {
      version_info: response.version,
      resources: response.carried.map((r) => this.codec.any(r)),
      type_url: typeUrl,
      nonce: response.nonce,
    };
  }
}

function sameList(a: readonly string[], b: readonly string[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
