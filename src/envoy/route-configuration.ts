import type { GraphPlan } from '../plan/types.ts';
import { graphRoutes, serverHealthRoutes } from './route.ts';
import { memoizeByIdentity } from './memoize.ts';
import { ROUTE } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';
import { routeTableName, scope, SCOPE_HEADER, scopeKeyOf } from './scopes.ts';

type Route = Record<string, unknown>;

/** Routes by host, hosts in first-seen order. */
type HostRoutes = Map<string, Route[]>;

function pathOf(route: Route): string {
  const path = (route.match as { path?: unknown } | undefined)?.path;
  // Graph routes match exact paths; anything else is our bug, not the user's.
  if (typeof path !== 'string') throw new Error(`route ${String(route.name)} has no exact path`);
  return path;
}

/**
 * One virtual host per host name, in host order. A request no route matches
 * gets the listener's 404 in the graph error shape, so tables need no
 * catch-all of their own.
 */
function routeTable(key: string, byHost: HostRoutes): EnvoyResource {
  return {
    '@type': ROUTE,
    name: routeTableName(key),
    // The scope header is ours: the models never see it.
    request_headers_to_remove: [SCOPE_HEADER],
    virtual_hosts: [...byHost.keys()].sort().map((host) => ({
      name: host === '*' ? 'any-host' : host,
      domains: [host],
      routes: byHost.get(host) ?? [],
    })),
  };
}

function add(tables: Map<string, HostRoutes>, key: string, host: string, route: Route): void {
  let byHost = tables.get(key);
  if (!byHost) {
    byHost = new Map();
    tables.set(key, byHost);
  }
  const routes = byHost.get(host);
  if (routes) routes.push(route);
  else byHost.set(host, [route]);
}

/** A graph's routes grouped by scope key: the tables it would have alone. */
const ownRoutes = memoizeByIdentity((graph: GraphPlan): Map<string, HostRoutes> => {
  const tables = new Map<string, HostRoutes>();
  for (const route of graphRoutes(graph)) add(tables, scopeKeyOf(pathOf(route)), graph.host, route);
  return tables;
});

interface ScopedTable {
  readonly table: EnvoyResource;
  readonly scope: EnvoyResource;
}

function scopedTable(key: string, byHost: HostRoutes): ScopedTable {
  return { table: routeTable(key, byHost), scope: scope(key) };
}

/** The tables of a graph that has its keys to itself, made once per plan. */
const ownTables = memoizeByIdentity(
  (graph: GraphPlan): Map<string, ScopedTable> =>
    new Map([...ownRoutes(graph)].map(([key, byHost]) => [key, scopedTable(key, byHost)])),
);

/**
 * The route tables of all graphs, one per scope key, and the scopes that
 * select them. A key is usually one graph's alone: its table is then the
 * same object until that graph changes. Keys graphs share (Seldon's paths,
 * V2 server health) are assembled again each time.
 */
export function routeTables(graphs: readonly GraphPlan[]): {
  tables: EnvoyResource[];
  scopes: EnvoyResource[];
} {
  const owners = new Map<string, GraphPlan[]>();
  for (const graph of graphs) {
    for (const key of ownRoutes(graph).keys()) {
      const sharing = owners.get(key);
      if (sharing) sharing.push(graph);
      else owners.set(key, [graph]);
    }
  }
  const shared = new Map<string, HostRoutes>();
  const healthHosts = new Set(graphs.filter((g) => g.protocol === 'v2').map((g) => g.host));
  const health = [...healthHosts].flatMap((host) =>
    serverHealthRoutes(host).map((route) => ({ host, route, key: scopeKeyOf(pathOf(route)) })),
  );
  const healthKeys = new Set(health.map((h) => h.key));
  const scoped: ScopedTable[] = [];
  for (const [key, sharing] of owners) {
    const [only] = sharing;
    const own = only && sharing.length === 1 && !healthKeys.has(key) && ownTables(only).get(key);
    if (own) {
      scoped.push(own);
      continue;
    }
    for (const graph of sharing) {
      for (const route of ownRoutes(graph).get(key)?.get(graph.host) ?? []) {
        add(shared, key, graph.host, route);
      }
    }
  }
  for (const { host, route, key } of health) add(shared, key, host, route);
  for (const [key, byHost] of shared) scoped.push(scopedTable(key, byHost));
  return { tables: scoped.map((s) => s.table), scopes: scoped.map((s) => s.scope) };
}
