import type { HostPort, UpstreamPlan } from '../plan/types.ts';
import { CLUSTER, ENDPOINT, typed } from './type-urls.ts';
import { seconds } from './durations.ts';
import type { EnvoyResource } from './resource-set.ts';

const adsSource = { ads: {}, resource_api_version: 'V3' } as const;

function lbEndpoints(addresses: readonly HostPort[]) {
  return [
    {
      lb_endpoints: addresses.map((a) => ({
        endpoint: { address: { socket_address: { address: a.host, port_value: a.port } } },
      })),
    },
  ];
}

export function loadAssignment(upstream: UpstreamPlan): EnvoyResource {
  return {
    '@type': ENDPOINT,
    cluster_name: upstream.id,
    endpoints: lbEndpoints(upstream.endpoints.addresses),
  };
}

function discovery(upstream: UpstreamPlan) {
  const endpoints = upstream.endpoints;
  if (endpoints.kind === 'static') {
    return { type: 'EDS', eds_cluster_config: { eds_config: adsSource } };
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

export function cluster(upstream: UpstreamPlan): EnvoyResource {
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
