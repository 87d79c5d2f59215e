import type { GraphPlan, HopRoutePlan } from '../plan/types.ts';
import { SELF_CLUSTER } from './cluster.ts';
import { METADATA_NAMESPACE } from './options.ts';
import type { EnvoyResource } from './resource-set.ts';
import { memoizeByIdentity } from './memoize.ts';
import { notFoundRoute, routeSettings } from './route.ts';
import { nodeStatName } from './stat-names.ts';
import { ROUTE } from './type-urls.ts';

/** The hop listener's one route table. */
export const HOP_ROUTE_CONFIG_NAME = 'switchyard-hops';

function hopRoute(hop: HopRoutePlan) {
  const target = hop.target;
  const settings = routeSettings({
    timeoutMs: hop.timeoutMs,
    ...(hop.retries && { retries: hop.retries }),
    mirrors: [],
  });
  return {
    name: hop.path,
    match: { path: hop.path },
    route:
      target.kind === 'upstream'
        ? { cluster: target.upstream, prefix_rewrite: target.path, ...settings }
        : { cluster: SELF_CLUSTER, prefix_rewrite: target.path, ...settings },
    metadata: { filter_metadata: { [METADATA_NAMESPACE]: { graph: hop.graph, node: hop.node } } },
    stat_prefix: nodeStatName(hop.graph, hop.node),
  };
}

const hopRoutesOf = memoizeByIdentity((graph: GraphPlan) => graph.hops.map(hopRoute));

/** Every node the executor calls, one exact-path route each, in graph order. */
export function hopRouteConfiguration(graphs: readonly GraphPlan[]): EnvoyResource {
  return {
    '@type': ROUTE,
    name: HOP_ROUTE_CONFIG_NAME,
    virtual_hosts: [
      {
        name: 'hops',
        domains: ['*'],
        routes: [...graphs.flatMap(hopRoutesOf), notFoundRoute()],
      },
    ],
  };
}
