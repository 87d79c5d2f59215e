import type { Plan } from '../plan/types.ts';
import { cluster, executorCluster, loadAssignment, selfCluster } from './cluster.ts';
import { hopRouteConfiguration } from './hop-routes.ts';
import { hopListener, listener, type ListenerOptions } from './listener.ts';
import { memoizeByIdentity } from './memoize.ts';
import type { EnvoyResource, ResourceSet } from './resource-set.ts';
import { routeTables } from './route-configuration.ts';
import {
  CLUSTER,
  ENDPOINT,
  LISTENER,
  ROUTE,
  SCOPED_ROUTE,
  type ResourceTypeUrl,
} from './type-urls.ts';

function byName(resources: readonly EnvoyResource[], key: 'name' | 'cluster_name' = 'name') {
  const named = resources.map((r) => [String(r[key]), r] as const);
  return new Map(named.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The resources every plan has, made once per listener options. */
const fixedResources = memoizeByIdentity((options: ListenerOptions) => ({
  clusters: [executorCluster(options), selfCluster(options)],
  listeners: [listener(options), hopListener(options)],
}));

/** Plan → Envoy resources. Pure: the same plan always yields byte-identical resources. */
export function translate(plan: Plan, options: ListenerOptions): ResourceSet {
  const staticUpstreams = plan.upstreams.filter((u) => u.endpoints.kind === 'static');
  const fixed = fixedResources(options);
  const routes = routeTables(plan.graphs);
  return new Map<ResourceTypeUrl, ReadonlyMap<string, EnvoyResource>>([
    [CLUSTER, byName([...plan.upstreams.map(cluster), ...fixed.clusters])],
    [ENDPOINT, byName(staticUpstreams.map(loadAssignment), 'cluster_name')],
    [LISTENER, byName(fixed.listeners)],
    [SCOPED_ROUTE, byName(routes.scopes)],
    [ROUTE, byName([...routes.tables, hopRouteConfiguration(plan.graphs)])],
  ]);
}
