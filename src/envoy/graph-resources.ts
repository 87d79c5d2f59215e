import type { PlannedGraph } from '../plan/plan.ts';
import { bodyFieldsConfig, graphBodyFields } from './body-fields.ts';
import { cluster, loadAssignment } from './cluster.ts';
import { hopRouteConfiguration } from './hop-routes.ts';
import type { ListenerOptions } from './options.ts';
import type { EnvoyResource } from './resource-set.ts';
import { graphRoutes } from './route.ts';
import { ROUTE } from './type-urls.ts';

/**
 * What one planned graph adds to Envoy's configuration, each part whole
 * enough to be checked on its own: its routes in a table of their own, its
 * body values as a body filter configuration, its hop routes, its clusters
 * and endpoints. The translation assembles the same parts into the shared
 * resources; checking them here lets one graph be refused alone.
 */
export function plannedGraphResources(
  planned: PlannedGraph,
  options: ListenerOptions,
): EnvoyResource[] {
  const routes = {
    '@type': ROUTE,
    name: 'check',
    virtual_hosts: [{ name: 'check', domains: ['*'], routes: graphRoutes(planned.graph) }],
  };
  const bodyFields = graphBodyFields(planned.graph);
  return [
    routes,
    ...(bodyFields.length > 0 ? [bodyFieldsConfig(bodyFields)] : []),
    // A graph without hops adds nothing to the hop table.
    ...(planned.graph.hops.length > 0 ? [hopRouteConfiguration([planned.graph])] : []),
    ...planned.upstreams.map((upstream) => cluster(upstream, options)),
    ...planned.upstreams.filter((u) => u.endpoints.kind === 'static').map(loadAssignment),
    // A Service's endpoints are addresses and ports its EndpointSlices hold: valid as such.
  ];
}
