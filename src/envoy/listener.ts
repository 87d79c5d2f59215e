import { bodyFieldsFilter } from './body-fields.ts';
import { OTLP_CLUSTER } from './cluster.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import { bufferFilter, extProcFilter } from './ext-proc.ts';
import { HOP_ROUTE_CONFIG_NAME } from './hop-routes.ts';
import { graphListenerMappers, nodeFailureMappers } from './local-replies.ts';
import { nodeRefusalsFilter } from './node-refusals.ts';
import type { ListenerOptions } from './options.ts';
import { routeFiltersFilter } from './route-filters.ts';
import { scopedRouting } from './scopes.ts';
import { hopSocketPath } from './sockets.ts';
import { LISTENER, typed } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';

export const LISTENER_NAME = 'switchyard-http';

export const HOP_LISTENER_NAME = 'switchyard-hops';

/**
 * Envoy's OpenTelemetry tracer: a span per request, its context passed on
 * in `traceparent` (to the executor, which parents its own spans on it, and
 * to nodes), every request sampled: the collector decides what to keep.
 */
function tracing(options: ListenerOptions) {
  const otlp = options.otlp;
  return (
    otlp && {
      tracing: {
        provider: {
          name: 'envoy.tracers.opentelemetry',
          typed_config: {
            '@type': typed('envoy.config.trace.v3.OpenTelemetryConfig'),
            http_service: {
              http_uri: { uri: otlp.tracesUrl, cluster: OTLP_CLUSTER, timeout: '1s' },
            },
            service_name: 'envoy',
          },
        },
      },
    }
  );
}

function httpListener(
  name: string,
  address: Record<string, unknown>,
  routing: Record<string, unknown>,
  filters: readonly Record<string, unknown>[],
  mappers: readonly Record<string, unknown>[],
  options: ListenerOptions,
): EnvoyResource {
  return {
    '@type': LISTENER,
    name,
    address,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': typed(
                'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              ),
              stat_prefix: name,
              // "host:" in a graph names a host, whatever port the client dialled.
              strip_any_host_port: true,
              local_reply_config: { mappers },
              ...routing,
              ...tracing(options),
              http_filters: [
                ...filters,
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

/**
 * One listener for all graphs. Its routes come by scoped RDS, a table per
 * graph, so traffic-split changes never touch the listener (nor drain
 * connections) and a one-graph change sends one small table. The values
 * switches read from bodies come by ECDS: the listener changes only when
 * the first graph starts reading bodies, or the last stops.
 */
export function listener(options: ListenerOptions, readsBodies: boolean): EnvoyResource {
  return httpListener(
    LISTENER_NAME,
    { socket_address: { address: options.address, port_value: options.port } },
    scopedRouting(),
    // The route's own filters come first: its body limit counts every byte before anything buffers.
    [
      routeFiltersFilter(),
      bufferFilter(),
      ...(readsBodies ? [bodyFieldsFilter()] : []),
      nodeRefusalsFilter(),
      extProcFilter(),
    ],
    graphListenerMappers(),
    options,
  );
}

/**
 * The listener the executor calls nodes through, on loopback by default: one route per
 * node, so every hop keeps the node's timeout, retries, circuit breaker,
 * outlier detection and stats.
 */
export function hopListener(options: ListenerOptions): EnvoyResource {
  return httpListener(
    HOP_LISTENER_NAME,
    options.sockets === undefined
      ? {
          socket_address: {
            address: options.hopAddress ?? '127.0.0.1',
            port_value: options.hopPort,
          },
        }
      : // Who may connect is the shared directory's to decide, not the socket's mode.
        { pipe: { path: hopSocketPath(options.sockets), mode: 0o666 } },
    {
      rds: {
        route_config_name: HOP_ROUTE_CONFIG_NAME,
        config_source: ADS_CONFIG_SOURCE,
      },
    },
    [],
    nodeFailureMappers,
    options,
  );
}
