import { LISTENER, typed } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';

export interface ListenerOptions {
  /** Address the graphs are served on; loopback by default, like every Switchyard listener. */
  readonly address: string;
  readonly port: number;
}

export const LISTENER_NAME = 'switchyard-http';

/** Route metadata namespace: every route names its graph and node, so errors can. */
export const METADATA_NAMESPACE = 'switchyard';

function errorBody(status: number, reason: string) {
  return {
    json_format: {
      error: {
        graph: `%METADATA(ROUTE:${METADATA_NAMESPACE}:graph)%`,
        node: `%METADATA(ROUTE:${METADATA_NAMESPACE}:node)%`,
        status,
        reason,
      },
    },
  };
}

function whenFlags(flags: string[], status: number, reason: string) {
  return {
    filter: { response_flag_filter: { flags } },
    status_code: status,
    body_format_override: errorBody(status, reason),
  };
}

/**
 * Envoy's own error replies, in the graph error shape: upstream failures are
 * 502, deadlines 504, an open circuit breaker 503. Replies Switchyard writes
 * itself (direct responses) carry no such flag and pass unchanged.
 */
const localReplyConfig = {
  mappers: [
    whenFlags(['UT'], 504, 'the node did not answer within its timeout'),
    whenFlags(['UO'], 503, "the node's circuit breaker is open: too many requests in flight"),
    whenFlags(
      ['UF', 'UH', 'URX', 'UC', 'UR', 'NC'],
      502,
      'the node could not be reached: %RESPONSE_CODE_DETAILS%',
    ),
  ],
};
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
              local_reply_config: localReplyConfig,
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
