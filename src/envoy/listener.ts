import { PLAN_HEADER } from '../plan/execution.ts';
import { errorShape } from '../protocols/error-body.ts';
import { bodyFieldsFilter } from './body-fields.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import { bufferFilter, extProcFilter } from './ext-proc.ts';
import { HOP_ROUTE_CONFIG_NAME } from './hop-routes.ts';
import { METADATA_NAMESPACE, type ListenerOptions } from './options.ts';
import { scopedRouting } from './scopes.ts';
import { hopSocketPath } from './sockets.ts';
import { LISTENER, typed } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';

export const LISTENER_NAME = 'switchyard-http';

/** Envoy's reply in the error shape, naming the graph and node from the route's metadata. */
function errorBody(status: number, reason: string) {
  return {
    json_format: errorShape({
      graph: `%METADATA(ROUTE:${METADATA_NAMESPACE}:graph)%`,
      node: `%METADATA(ROUTE:${METADATA_NAMESPACE}:node)%`,
      status,
      reason,
    }),
  };
}

function whenFlags(flags: string[], status: number, reason: string) {
  return {
    filter: { response_flag_filter: { flags } },
    status_code: status,
    body_format_override: errorBody(status, reason),
  };
}

const UPSTREAM_FAILURE_FLAGS = ['UF', 'UH', 'URX', 'UC', 'UR', 'NC'];

function executorRouteAnd(flags: string[]) {
  return {
    and_filter: {
      filters: [
        { header_filter: { header: { name: PLAN_HEADER, present_match: true } } },
        { response_flag_filter: { flags } },
      ],
    },
  };
}

/**
 * A route that sends requests to the executor (the only requests that carry
 * a plan header: the listener strips clients' copies) fails closed, as the
 * ext_proc filter does: 503 when the executor cannot be reached, 504 when
 * it outlives the graph's deadline (it answers 504 itself before that).
 */
const executorRouteMappers = [
  {
    filter: executorRouteAnd(['UT']),
    status_code: 504,
    body_format_override: errorBody(
      504,
      "the Switchyard executor did not answer within the graph's deadline",
    ),
  },
  {
    filter: executorRouteAnd([...UPSTREAM_FAILURE_FLAGS, 'UO']),
    status_code: 503,
    body_format_override: errorBody(
      503,
      'the Switchyard executor is unavailable (%RESPONSE_CODE_DETAILS%)',
    ),
  },
];

/**
 * Envoy's own error replies, in the graph error shape: upstream failures are
 * 502, deadlines 504, an open circuit breaker 503. Replies Switchyard writes
 * itself (direct responses) carry no such flag and pass unchanged.
 */
const nodeFailureMappers = [
  whenFlags(['UT'], 504, 'the node did not answer within its timeout'),
  whenFlags(['UO'], 503, "the node's circuit breaker is open: too many requests in flight"),
  whenFlags(UPSTREAM_FAILURE_FLAGS, 502, 'the node could not be reached: %RESPONSE_CODE_DETAILS%'),
];

/**
 * Envoy answers 500 when the ext_proc stream fails (executor down, or too
 * slow); nothing else on the graph listener replies 500. Fail closed, and
 * say so: 503 in the graph error shape.
 */
const executorFailureMapper = {
  filter: {
    status_code_filter: {
      comparison: {
        op: 'EQ',
        value: { default_value: 500, runtime_key: 'switchyard.executor_failure_status' },
      },
    },
  },
  status_code: 503,
  body_format_override: errorBody(
    503,
    'the Switchyard executor is unavailable (%RESPONSE_CODE_DETAILS%)',
  ),
};

/** A body over the graph's maxRequestBytes, refused by Envoy while buffering it or by the executor. */
const tooLargeMapper = {
  filter: {
    status_code_filter: {
      comparison: {
        op: 'EQ',
        value: { default_value: 413, runtime_key: 'switchyard.too_large_status' },
      },
    },
  },
  body_format_override: errorBody(
    413,
    "the request body is larger than the graph's maxRequestBytes",
  ),
};

export const HOP_LISTENER_NAME = 'switchyard-hops';

function httpListener(
  name: string,
  address: Record<string, unknown>,
  routing: Record<string, unknown>,
  filters: readonly Record<string, unknown>[],
  mappers: readonly Record<string, unknown>[],
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

/** No scope for the path, or no route in its table: no graph is served there. */
const noScopeMapper = {
  filter: { response_flag_filter: { flags: ['NR'] } },
  status_code: 404,
  body_format_override: {
    json_format: errorShape({
      status: 404,
      reason: 'no inference graph is served on this host and path',
    }),
  },
};

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
    [bufferFilter(), ...(readsBodies ? [bodyFieldsFilter()] : []), extProcFilter()],
    [
      ...executorRouteMappers,
      ...nodeFailureMappers,
      executorFailureMapper,
      tooLargeMapper,
      noScopeMapper,
    ],
  );
}

/**
 * The listener the executor calls nodes through, on loopback: one route per
 * node, so every hop keeps the node's timeout, retries, circuit breaker,
 * outlier detection and stats.
 */
export function hopListener(options: ListenerOptions): EnvoyResource {
  return httpListener(
    HOP_LISTENER_NAME,
    options.sockets === undefined
      ? { socket_address: { address: '127.0.0.1', port_value: options.hopPort } }
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
  );
}
