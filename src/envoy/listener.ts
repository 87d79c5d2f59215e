import { LISTENER, typed } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';

export interface ListenerOptions {
  /** Address the graphs are served on; loopback by default, like every Switchyard listener. */
  readonly address: string;
  readonly port: number;
}

export const LISTENER_NAME = 'switchyard-http';
export const ROUTE_CONFIG_NAME = 'switchyard-graphs';

/**
 * One listener for all graphs. It names its route table instead of embedding
 * it, so traffic-split changes travel by RDS and never drain connections.
 */
export function listener(options: ListenerOptions): EnvoyResource {
  return {
    '@type': LISTENER,
    name: LISTENER_NAME,
    address: { socket_address: { address: options.address, port_value: options.port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': typed(
                'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              ),
              stat_prefix: 'switchyard',
              rds: {
                route_config_name: ROUTE_CONFIG_NAME,
                config_source: { ads: {}, resource_api_version: 'V3' },
              },
              http_filters: [
                {
                  name: 'envoy.filters.http.router',
                  typed_config: {
                    '@type': typed('envoy.extensions.filters.http.router.v3.Router'),
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}
