/**
 * Bootstraps of the plain, statically configured Envoys the baselines run
 * behind: B1's (routes to the models, the 90/10 split done by Envoy) and the
 * ingress in front of B2 (everything to the Go router), as a cluster would
 * put one in front of any router.
 */

type Json = Record<string, unknown>;

function staticCluster(name: string, port: number): Json {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
            },
          ],
        },
      ],
    },
  };
}

export function plainEnvoyBootstrap(
  listenPort: number,
  adminPort: number,
  routes: readonly Json[],
  clusters: Readonly<Record<string, number>>,
): Json {
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'plain',
          address: { socket_address: { address: '127.0.0.1', port_value: listenPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'plain',
                    route_config: {
                      virtual_hosts: [{ name: 'all', domains: ['*'], routes }],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type':
                            'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: Object.entries(clusters).map(([name, port]) => staticCluster(name, port)),
    },
  };
}

/** B1's Envoy: every path to the models, and /v2/models/split/infer split 90/10 by Envoy. */
export function modelsEnvoyBootstrap(listenPort: number, adminPort: number, modelsPort: number) {
  return plainEnvoyBootstrap(
    listenPort,
    adminPort,
    [
      {
        match: { path: '/v2/models/split/infer' },
        route: {
          weighted_clusters: {
            clusters: [
              { name: 'models-a', weight: 90 },
              { name: 'models-b', weight: 10 },
            ],
          },
          prefix_rewrite: '/v2/models/m-a/infer',
          timeout: '30s',
        },
      },
      { match: { prefix: '/' }, route: { cluster: 'models', timeout: '30s' } },
    ],
    { models: modelsPort, 'models-a': modelsPort, 'models-b': modelsPort },
  );
}

/** The ingress in front of a router: every path to it. */
export function ingressEnvoyBootstrap(listenPort: number, adminPort: number, routerPort: number) {
  return plainEnvoyBootstrap(
    listenPort,
    adminPort,
    [{ match: { prefix: '/' }, route: { cluster: 'router', timeout: '30s' } }],
    { router: routerPort },
  );
}
