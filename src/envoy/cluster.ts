import type { HostPort, UpstreamPlan } from '../plan/types.ts';
import { isIpAddress } from '../spec/address.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import { EXECUTOR_CLUSTER } from './ext-proc.ts';
import type { ListenerOptions } from './options.ts';
import { executorSocketPath } from './sockets.ts';
import { inlineCaTlsSocket } from './upstream-tls.ts';
import { CLUSTER, ENDPOINT, typed } from './type-urls.ts';
import { seconds } from './durations.ts';
import { memoizeByIdentity } from './memoize.ts';
import type { EnvoyResource } from './resource-set.ts';

function lbEndpoints(addresses: readonly (HostPort | string)[]) {
  return [
    {
      lb_endpoints: addresses.map((a) => ({
        endpoint: {
          address:
            typeof a === 'string'
              ? { pipe: { path: a } }
              : { socket_address: { address: a.host, port_value: a.port } },
        },
      })),
    },
  ];
}

function loadAssignmentOf(upstream: UpstreamPlan): EnvoyResource {
  return {
    '@type': ENDPOINT,
    cluster_name: upstream.id,
    endpoints: lbEndpoints(upstream.endpoints.addresses),
  };
}

function discovery(upstream: UpstreamPlan) {
  const endpoints = upstream.endpoints;
  if (endpoints.kind === 'static') {
    return { type: 'EDS', eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE } };
  }
  return {
    type: 'STRICT_DNS',
    // Model servers in containers often listen on IPv4 only; prefer it, fall back to IPv6.
    dns_lookup_family: 'V4_PREFERRED',
    load_assignment: { cluster_name: upstream.id, endpoints: lbEndpoints(endpoints.addresses) },
    ...(endpoints.tls && {
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
          sni: endpoints.addresses[0]?.host ?? '',
        },
      },
    }),
  };
}

function clusterOf(upstream: UpstreamPlan): EnvoyResource {
  const limits = upstream.circuitBreaker;
  const outlier = upstream.outlierDetection;
  return {
    '@type': CLUSTER,
    name: upstream.id,
    ...discovery(upstream),
    connect_timeout: '1s',
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: limits.maxConnections,
          max_pending_requests: limits.maxPendingRequests,
          max_requests: limits.maxRequests,
          max_retries: limits.maxRetries,
        },
      ],
    },
    ...(outlier && {
      outlier_detection: {
        consecutive_5xx: outlier.consecutive5xx,
        interval: seconds(outlier.intervalMs),
        base_ejection_time: seconds(outlier.baseEjectionTimeMs),
        max_ejection_percent: outlier.maxEjectionPercent,
      },
    }),
  };
}

/** An upstream's cluster and its endpoints, translated once per plan object. */
export const cluster = memoizeByIdentity(clusterOf);
export const loadAssignment = memoizeByIdentity(loadAssignmentOf);

/**
 * A cluster of addresses given on the command line: IP addresses, names DNS
 * resolves, or Unix socket paths.
 */
function addressCluster(name: string, addresses: readonly (HostPort | string)[], http2: boolean) {
  const resolved = addresses.some((a) => typeof a !== 'string' && !isIpAddress(a.host));
  return {
    '@type': CLUSTER,
    name,
    type: resolved ? 'STRICT_DNS' : 'STATIC',
    ...(resolved && { dns_lookup_family: 'V4_PREFERRED' }),
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: lbEndpoints(addresses) },
    ...(http2 && {
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    }),
  };
}

/**
 * The executor: HTTP/2 (its ext_proc service is gRPC), one endpoint per
 * worker, so Envoy spreads requests, not connections, over the workers,
 * and every Envoy thread keeps every worker busy. A DNS name (a headless
 * Service) gives an endpoint per address it resolves to. One stream per request,
 * so the default circuit-breaker limits (1,024 requests, 3 retries in
 * flight) would cap the data plane instead of protecting it.
 */
export function executorCluster(options: ListenerOptions): EnvoyResource {
  const { address, port, workers, tls } = options.executor;
  const { sockets } = options;
  const endpoints = Array.from({ length: workers }, (_, index) =>
    sockets === undefined
      ? { host: address, port: port + index }
      : executorSocketPath(sockets, index),
  );
  return {
    ...addressCluster(EXECUTOR_CLUSTER, endpoints, true),
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: {
      thresholds: [{ priority: 'DEFAULT', max_requests: 100_000, max_retries: 1_000 }],
    },
    // A worker nobody can connect to (dead, or not started) is set aside after
    // a few tries. The executor's own 5xx answers are a graph's failures, not
    // the worker's, so only failures to reach it count.
    outlier_detection: {
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 3,
      enforcing_consecutive_5xx: 0,
      enforcing_success_rate: 0,
      interval: '1s',
      base_ejection_time: '5s',
      max_ejection_percent: 100,
    },
    // Its ext_proc service is reached through this cluster too (envoy_grpc), so it is TLS as well.
    ...(tls && { transport_socket: inlineCaTlsSocket(tls.ca, tls.serverName) }),
  };
}

export const SELF_CLUSTER = 'switchyard-self';

/** Envoy's own graph listener, for nested graphs the executor calls on their public path. */
export function selfCluster(options: ListenerOptions): EnvoyResource {
  const address = options.address === '0.0.0.0' ? '127.0.0.1' : options.address;
  return addressCluster(SELF_CLUSTER, [{ host: address, port: options.port }], false);
}
