import type { ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from './discovery-codec.ts';
import { XdsStream, wildcardTypes, type OutgoingResponse } from './xds-stream.ts';

/**
 * Incremental xDS: a response carries only the resources whose version
 * differs from what Envoy runs, and names the ones removed. On reconnect
 * Envoy's initial_resource_versions say what it has.
 */
export class DeltaStream extends XdsStream<DeltaDiscoveryResponse> {
  readonly protocol = 'delta';
  protected readonly answersEveryFirstRequest = false;
  onRequest(request: DeltaDiscoveryRequest): void {
    const typeUrl = request.type_url;
    const versions = request.initial_resource_versions;
    this.request(
      request.node,
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

  protected format(typeUrl: ResourceTypeUrl, response: OutgoingResponse): DeltaDiscoveryResponse {
    return {
      system_version_info: response.version,
      resources: response.carried.map((r) => ({
        name: r.name,
        version: r.version,
        resource: this.codec.any(r),
      })),
      type_url: typeUrl,
      removed_resources: [...response.removed],
      nonce: response.nonce,
    };
  }
}
