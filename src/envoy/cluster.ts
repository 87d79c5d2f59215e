import { EXECUTOR_IDLE_TIMEOUT_MS, EXECUTOR_READINESS_PATH } from '../plan/execution.ts';
import type { HostPort, UpstreamPlan } from '../plan/types.ts';
import { isIpAddress } from '../spec/address.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import { EXECUTOR_CLUSTER, EXECUTOR_HTTP1_CLUSTER } from './ext-proc.ts';
import type { ListenerOptions } from './options.ts';
import { executorSocketPath } from './sockets.ts';
import { inlineCaTlsSocket } from './upstream-tls.ts';
import { CLUSTER, ENDPOINT, typed } from './type-urls.ts';
import { seconds } from './durations.ts';
import { memoizeByIdentity } from './memoize.ts';
import { nodeStatName } from './stat-names.ts';
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

type AddressedUpstream = UpstreamPlan & {
  readonly endpoints: Exclude<UpstreamPlan['endpoints'], { kind: 'listener' }>;
};

function hasAddresses(upstream: UpstreamPlan): upstream is AddressedUpstream {
  return upstream.endpoints.kind !== 'listener';
}

/** The endpoints of an upstream of static addresses; a Service's come from the controller. */
function loadAssignmentOf(upstream: UpstreamPlan): EnvoyResource {
  const endpoints = upstream.endpoints;
  if (endpoints.kind === 'service') {
    throw new Error(`${upstream.id}: a Service's endpoints come from its EndpointSlices`);
  }
  return {
    '@type': ENDPOINT,
    cluster_name: upstream.id,
    endpoints: endpoints.kind === 'listener' ? [] : lbEndpoints(endpoints.addresses),
  };
}

/** One endpoint of a Service, as its EndpointSlices give it. */
export interface ServiceEndpoint {
  /** An IPv4 or IPv6 address (EndpointSlices of FQDNs are not EDS endpoints). */
  readonly address: string;
  readonly port: number;
  /** Terminating but still serving: Envoy finishes with it and sends it no new requests. */
  readonly draining: boolean;
}

/**
 * A Service's endpoints as the ClusterLoadAssignment of an upstream's
 * cluster. None is a valid assignment: the cluster is there and answers 503.
 */
export function serviceLoadAssignment(
  cluster: string,
  endpoints: readonly ServiceEndpoint[],
): EnvoyResource {
  return {
    '@type': ENDPOINT,
    cluster_name: cluster,
    endpoints:
      endpoints.length === 0
        ? []
        : [
            {
              lb_endpoints: endpoints.map((e) => ({
                endpoint: {
                  address: { socket_address: { address: e.address, port_value: e.port } },
                },
                ...(e.draining && { health_status: 'DRAINING' }),
              })),
            },
          ],
  };
}

/** Whether Envoy gets an upstream's endpoints by EDS: static addresses and Services do. */
export function isEdsUpstream(upstream: UpstreamPlan): boolean {
  return upstream.endpoints.kind === 'static' || upstream.endpoints.kind === 'service';
}

/**
 * Envoy asks every endpoint of every node whether it can answer, on its
 * readiness path: a graph's readiness is its nodes' health, and load
 * balancing leaves out endpoints that fail (all of them failing, Envoy's
 * panic threshold sends traffic to all again). Every few seconds, idle
 * clusters too (Envoy's default for those is a minute): readiness must turn
 * within seconds either way. Two failures in a row mark an endpoint
 * unhealthy, one success healthy again.
 */
export const HEALTH_CHECK_INTERVAL_MS = 3000;
const HEALTH_CHECK_UNHEALTHY_THRESHOLD = 2;

function healthChecks(path: string, options: { http2?: boolean; host?: string } = {}) {
  const interval = seconds(HEALTH_CHECK_INTERVAL_MS);
  return {
    // An endpoint service discovery removes goes at once, healthy or not: left to fail
    // its checks first, a replaced model server would keep its traffic while it runs.
    ignore_health_on_host_removal: true,
    health_checks: [
      {
        timeout: '1s',
        interval,
        no_traffic_interval: interval,
        unhealthy_threshold: HEALTH_CHECK_UNHEALTHY_THRESHOLD,
        healthy_threshold: 1,
        http_health_check: {
          path,
          ...(options.host !== undefined && { host: options.host }),
          ...(options.http2 === true && { codec_client_type: 'HTTP2' }),
        },
      },
    ],
  };
}

function discovery(upstream: AddressedUpstream) {
  const endpoints = upstream.endpoints;
  if (endpoints.kind === 'static' || endpoints.kind === 'service') {
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

function circuitBreakers(upstream: UpstreamPlan) {
  const limits = upstream.circuitBreaker;
  return {
    thresholds: [
      {
        priority: 'DEFAULT',
        max_connections: limits.maxConnections,
        max_pending_requests: limits.maxPendingRequests,
        max_requests: limits.maxRequests,
        max_retries: limits.maxRetries,
      },
    ],
  };
}

function clusterOf(upstream: AddressedUpstream): EnvoyResource {
  const outlier = upstream.outlierDetection;
  return {
    '@type': CLUSTER,
    name: upstream.id,
    alt_stat_name: nodeStatName(upstream.graph, upstream.node),
    ...discovery(upstream),
    connect_timeout: '1s',
    circuit_breakers: circuitBreakers(upstream),
    // A Service's endpoints are its ready pods: the kubelet's probes already decide, and
    // Envoy's own checks would only add load on them (and traffic to pods a test must not reach).
    ...(upstream.endpoints.kind !== 'service' && healthChecks(upstream.healthCheckPath)),
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

/** The host a nested graph's readiness is asked on, as the executor's calls of it carry none of their own. */
const NESTED_READINESS_HOST = 'switchyard';

/** A nested graph's readiness: Envoy's own graph listener, health-checked on that graph's readiness path. */
function listenerClusterOf(upstream: UpstreamPlan, options: ListenerOptions): EnvoyResource {
  return {
    ...addressCluster(upstream.id, [selfAddress(options)]),
    circuit_breakers: circuitBreakers(upstream),
    ...healthChecks(upstream.healthCheckPath, { host: NESTED_READINESS_HOST }),
  };
}

const addressedCluster = memoizeByIdentity(clusterOf);
const listenerClusters = new WeakMap<ListenerOptions, (upstream: UpstreamPlan) => EnvoyResource>();

/** An upstream's cluster, translated once per plan object (and per listener, for a nested graph's). */
export function cluster(upstream: UpstreamPlan, options: ListenerOptions): EnvoyResource {
  if (hasAddresses(upstream)) return addressedCluster(upstream);
  let translate = listenerClusters.get(options);
  if (!translate) {
    translate = memoizeByIdentity((of: UpstreamPlan) => listenerClusterOf(of, options));
    listenerClusters.set(options, translate);
  }
  return translate(upstream);
}

/** An upstream's endpoints, for those whose addresses Envoy learns by EDS. */
export const loadAssignment = memoizeByIdentity(loadAssignmentOf);

/**
 * A cluster of addresses given on the command line: IP addresses, names DNS
 * resolves, or Unix socket paths. `protocol` is its HttpProtocolOptions
 * (HTTP/1.1 with Envoy's defaults if unset).
 */
function addressCluster(
  name: string,
  addresses: readonly (HostPort | string)[],
  protocol?: Record<string, unknown>,
) {
  const resolved = addresses.some((a) => typeof a !== 'string' && !isIpAddress(a.host));
  return {
    '@type': CLUSTER,
    name,
    type: resolved ? 'STRICT_DNS' : 'STATIC',
    ...(resolved && { dns_lookup_family: 'V4_PREFERRED' }),
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: lbEndpoints(addresses) },
    ...(protocol && {
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
          ...protocol,
        },
      },
    }),
  };
}

/**
 * How Envoy speaks to the executor: HTTP/2 for its ext_proc service (gRPC);
 * HTTP/1.1 for the routes it answers as an upstream, where Node spends half
 * the CPU per request (docs/decisions/0059). An HTTP/1.1 connection carries
 * one request at a time, so Envoy keeps one per request in flight and
 * closes it after it idles, before the executor would.
 */
const EXECUTOR_PROTOCOLS = {
  http2: {
    name: EXECUTOR_CLUSTER,
    alpn: 'h2',
    explicit_http_config: { http2_protocol_options: {} },
  },
  http1: {
    name: EXECUTOR_HTTP1_CLUSTER,
    alpn: 'http/1.1',
    explicit_http_config: { http_protocol_options: {} },
    common_http_protocol_options: { idle_timeout: seconds(EXECUTOR_IDLE_TIMEOUT_MS) },
  },
} as const;

/**
 * The executor, over one protocol: one endpoint per worker, so Envoy
 * spreads requests, not connections, over the workers, and every Envoy
 * thread keeps every worker busy. A DNS name (a headless Service) gives an
 * endpoint per address it resolves to. One stream or connection per
 * request, so the default circuit-breaker limits (1,024 connections and
 * requests, 3 retries in flight) would cap the data plane instead of
 * protecting it.
 */
export function executorCluster(
  options: ListenerOptions,
  protocol: keyof typeof EXECUTOR_PROTOCOLS,
): EnvoyResource {
  const { address, port, workers, tls } = options.executor;
  const { sockets } = options;
  const { name, alpn, ...protocolOptions } = EXECUTOR_PROTOCOLS[protocol];
  const endpoints = Array.from({ length: workers }, (_, index) =>
    sockets === undefined
      ? { host: address, port: port + index }
      : executorSocketPath(sockets, index),
  );
  const most = 100_000;
  return {
    ...addressCluster(name, endpoints, protocolOptions),
    // A graph the executor runs is ready only while some worker answers.
    ...healthChecks(EXECUTOR_READINESS_PATH, { http2: protocol === 'http2' }),
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: most,
          max_pending_requests: most,
          max_requests: most,
          max_retries: 1_000,
        },
      ],
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
    // Its ext_proc service is reached through a cluster too (envoy_grpc), so it is TLS as well.
    ...(tls && { transport_socket: inlineCaTlsSocket(tls.ca, tls.serverName, alpn) }),
  };
}

export const SELF_CLUSTER = 'switchyard-self';

/** Where Envoy reaches its own graph listener. */
function selfAddress(options: ListenerOptions): HostPort {
  const address = options.address === '0.0.0.0' ? '127.0.0.1' : options.address;
  return { host: address, port: options.port };
}

/** Envoy's own graph listener, for nested graphs the executor calls on their public path. */
export function selfCluster(options: ListenerOptions): EnvoyResource {
  return addressCluster(SELF_CLUSTER, [selfAddress(options)]);
}

export const OTLP_CLUSTER = 'switchyard-otlp';

/** The OpenTelemetry Collector Envoy sends its spans to, when tracing is on. */
export function otlpCluster(options: ListenerOptions): EnvoyResource | undefined {
  return options.otlp && addressCluster(OTLP_CLUSTER, [options.otlp]);
}
