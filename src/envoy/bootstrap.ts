import { isIpAddress } from '../spec/address.ts';
import { seconds } from './durations.ts';
import { typed } from './type-urls.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import { statsTags } from './stat-names.ts';
import { xdsTransportSocket, type XdsTlsOptions } from './xds-tls.ts';

export interface BootstrapOptions {
  readonly nodeId: string;
  /** The node group: the control plane serves each group its own snapshot. */
  readonly nodeCluster: string;
  readonly xdsAddress: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly adminAddress?: string;
  readonly delta?: boolean;
  /**
   * Runtime values for a static layer under the admin layer (e.g.
   * `re2.max_program_size.error_level`); none: Envoy's defaults.
   */
  readonly runtime?: Readonly<Record<string, unknown>>;
  /** TLS to the control plane (mutual with a client certificate); its SDS files come from xdsSdsFiles. */
  readonly xdsTls?: XdsTlsOptions;
  /**
   * Where probes from outside (a kubelet's) read Envoy's readiness: a listener that passes
   * GET /ready, and nothing else, to the admin interface, which stays on loopback because
   * it can reconfigure and stop Envoy.
   */
  readonly ready?: { readonly address: string; readonly port: number };
  /**
   * Push stats to the control plane's metrics service (the status page's
   * live rates) every `flushIntervalMs` (Envoy's default: 5 s); none: no sink.
   */
  readonly statSink?: { readonly flushIntervalMs?: number };
}

export const XDS_CLUSTER = 'switchyard_xds';
const ADMIN_CLUSTER = 'switchyard_admin';
const READY_LISTENER = 'switchyard_ready';

function staticCluster(name: string, address: string, port: number): Record<string, unknown> {
  return {
    name,
    type: isIpAddress(address) ? 'STATIC' : 'LOGICAL_DNS',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address, port_value: port } } } },
          ],
        },
      ],
    },
  };
}

/** The ready listener and the admin cluster it routes its one path to. */
function readyResources(
  ready: { address: string; port: number },
  adminAddress: string,
  adminPort: number,
): { listener: Record<string, unknown>; cluster: Record<string, unknown> } {
  // An admin bound to every address is still reached on loopback.
  const admin = adminAddress === '0.0.0.0' ? '127.0.0.1' : adminAddress;
  return {
    cluster: staticCluster(ADMIN_CLUSTER, admin, adminPort),
    listener: {
      name: READY_LISTENER,
      address: { socket_address: { address: ready.address, port_value: ready.port } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': typed(
                  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                ),
                stat_prefix: READY_LISTENER,
                route_config: {
                  virtual_hosts: [
                    {
                      name: READY_LISTENER,
                      domains: ['*'],
                      routes: [
                        {
                          match: {
                            path: '/ready',
                            headers: [{ name: ':method', string_match: { exact: 'GET' } }],
                          },
                          route: { cluster: ADMIN_CLUSTER },
                        },
                      ],
                    },
                  ],
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
    },
  };
}

/**
 * Envoy's metrics service stat sink, to the xDS server through the xDS
 * cluster: the control plane hears every Envoy's counters without reaching
 * into each one's admin port (docs/decisions, the status page's record).
 * Counters go as increments since the last flush, which add up across Envoys.
 */
function statSink(sink: NonNullable<BootstrapOptions['statSink']>) {
  return {
    stats_sinks: [
      {
        name: 'envoy.stat_sinks.metrics_service',
        typed_config: {
          '@type': typed('envoy.config.metrics.v3.MetricsServiceConfig'),
          transport_api_version: 'V3',
          report_counters_as_deltas: true,
          grpc_service: { envoy_grpc: { cluster_name: XDS_CLUSTER } },
        },
      },
    ],
    ...(sink.flushIntervalMs !== undefined && {
      stats_flush_interval: seconds(sink.flushIntervalMs),
    }),
  };
}

/** An Envoy v3 bootstrap that takes everything else from the control plane over ADS. */
export function bootstrapConfig(options: BootstrapOptions): Record<string, unknown> {
  const adminAddress = options.adminAddress ?? '127.0.0.1';
  const ready = options.ready && readyResources(options.ready, adminAddress, options.adminPort);
  return {
    node: { id: options.nodeId, cluster: options.nodeCluster },
    // Each node's cluster stats carry its graph and node as tags (stat-names.ts).
    stats_config: { stats_tags: statsTags },
    admin: {
      address: {
        socket_address: {
          address: adminAddress,
          port_value: options.adminPort,
        },
      },
    },
    dynamic_resources: {
      ads_config: {
        api_type: options.delta === true ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [
          {
            envoy_grpc: {
              cluster_name: XDS_CLUSTER,
              // Envoy's default reconnect backoff grows to 30 s, so after a control-plane
              // restart an Envoy could go that long without changes. Reconnects are cheap
              // (a snapshot is ready for it), so wait at most 2 s.
              retry_policy: { retry_back_off: { base_interval: '0.25s', max_interval: '2s' } },
            },
          },
        ],
      },
      lds_config: ADS_CONFIG_SOURCE,
      cds_config: ADS_CONFIG_SOURCE,
    },
    ...(options.statSink && statSink(options.statSink)),
    ...(options.runtime && {
      layered_runtime: {
        layers: [
          { name: 'static', static_layer: options.runtime },
          { name: 'admin', admin_layer: {} },
        ],
      },
    }),
    static_resources: {
      ...(ready && { listeners: [ready.listener] }),
      clusters: [
        {
          ...staticCluster(XDS_CLUSTER, options.xdsAddress, options.xdsPort),
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
              explicit_http_config: {
                // xDS is gRPC: HTTP/2, with keepalives so a dead control plane is noticed; generous,
                // because a control plane loading thousands of graphs may be busy for seconds.
                http2_protocol_options: {
                  connection_keepalive: { interval: '30s', timeout: '20s' },
                },
              },
            },
          },
          ...(options.xdsTls && { transport_socket: xdsTransportSocket(options.xdsTls) }),
        },
        ...(ready ? [ready.cluster] : []),
      ],
    },
  };
}
