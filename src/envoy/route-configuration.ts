import type { GraphPlan } from '../plan/types.ts';
import { ROUTE_CONFIG_NAME } from './listener.ts';
import { graphRoutes, notFoundRoute, serverHealthRoutes } from './route.ts';
import { ROUTE } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';

/** Graphs grouped into one virtual host per host name, in host order; graph routes in graph order. */
export function routeConfiguration(graphs: readonly GraphPlan[]): EnvoyResource {
  const byHost = new Map<string, GraphPlan[]>();
  for (const graph of graphs) {
    const sameHost = byHost.get(graph.host);
    if (sameHost) sameHost.push(graph);
    else byHost.set(graph.host, [graph]);
  }
  const hosts = [...byHost.keys()].sort();
  if (!hosts.includes('*')) hosts.push('*');
  return {
    '@type': ROUTE,
    name: ROUTE_CONFIG_NAME,
    virtual_hosts: hosts.map((host) => ({
      name: host === '*' ? 'any-host' : host,
      domains: [host],
      routes: [
        ...(byHost.get(host) ?? []).flatMap(graphRoutes),
        ...((byHost.get(host) ?? []).some((g) => g.protocol === 'v2')
          ? serverHealthRoutes(host)
          : []),
        notFoundRoute(),
      ],
    })),
  };
}
