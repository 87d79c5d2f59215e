import type { GraphPlan } from '../plan/types.ts';
import { graphRoutes, serverHealthRoutes } from './route.ts';
import { memoizeByIdentity } from './memoize.ts';
import type { ResourceEdits } from './resource-edits.ts';
import { ROUTE, SCOPED_ROUTE } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';
import { routeTableName, scope, SCOPE_HEADER, scopeKeyOf, scopeName } from './scopes.ts';

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

function addRoute(byHost: HostRoutes, host: string, route: Route): void {
  const routes = byHost.get(host);
  if (routes) routes.push(route);
  else byHost.set(host, [route]);
}

/** A graph's routes grouped by scope key: the tables it would have alone. */
const ownRoutes = memoizeByIdentity((graph: GraphPlan): Map<string, HostRoutes> => {
  const tables = new Map<string, HostRoutes>();
  for (const route of graphRoutes(graph)) {
    const key = scopeKeyOf(pathOf(route));
    let byHost = tables.get(key);
    if (!byHost) {
      byHost = new Map();
      tables.set(key, byHost);
    }
    addRoute(byHost, graph.host, route);
  }
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

/** Which graphs route under each scope key, and the hosts that serve V2 server health. */
export interface RouteIndex {
  /** Scope key → ids of the graphs with routes under it. */
  readonly owners: ReadonlyMap<string, ReadonlySet<string>>;
  /** Host → how many V2 graphs it serves: each such host answers server health. */
  readonly v2Hosts: ReadonlyMap<string, number>;
}

export const emptyRouteIndex: RouteIndex = { owners: new Map(), v2Hosts: new Map() };

/** The keys of server health routes; the same for every host. */
const healthKeys = new Set(serverHealthRoutes('*').map((route) => scopeKeyOf(pathOf(route))));

/**
 * The table and scope of one key. A key is usually one graph's alone: its
 * table is then the same object until that graph changes. Keys graphs share
 * (Seldon's paths, V2 server health) are assembled from every sharer, in id
 * order, so a table does not depend on the order graphs came in.
 */
function tableOf(
  key: string,
  ids: ReadonlySet<string> | undefined,
  graphOf: (id: string) => GraphPlan | undefined,
  v2Hosts: ReadonlyMap<string, number>,
): ScopedTable | undefined {
  const health = healthKeys.has(key);
  if (ids?.size === 1 && !health) {
    const [only] = ids;
    const graph = only === undefined ? undefined : graphOf(only);
    const own = graph && ownTables(graph).get(key);
    if (own) return own;
  }
  const byHost: HostRoutes = new Map();
  for (const id of [...(ids ?? [])].sort()) {
    const graph = graphOf(id);
    if (!graph) continue;
    for (const route of ownRoutes(graph).get(key)?.get(graph.host) ?? []) {
      addRoute(byHost, graph.host, route);
    }
  }
  if (health) {
    for (const host of [...v2Hosts.keys()].sort()) {
      for (const route of serverHealthRoutes(host)) {
        if (scopeKeyOf(pathOf(route)) === key) addRoute(byHost, host, route);
      }
    }
  }
  return byHost.size === 0 ? undefined : scopedTable(key, byHost);
}

/**
 * Brings route tables and their scopes up to date with a change of graphs:
 * `gone` are the plans that left or were replaced, `came` the ones that
 * arrived or replace them, `graphOf` finds any plan after the change. Only the
 * keys those plans route under are assembled again.
 */
export function editRouteTables(
  index: RouteIndex,
  graphOf: (id: string) => GraphPlan | undefined,
  gone: readonly GraphPlan[],
  came: readonly GraphPlan[],
  edits: ResourceEdits,
): RouteIndex {
  const owners = new Map(index.owners);
  const v2Hosts = new Map(index.v2Hosts);
  // The owners of each key this edit touches, copied once: a key many graphs share
  // (Seldon's) would otherwise be copied once per graph, quadratic on a first load.
  const touched = new Map<string, Set<string>>();
  const hosts = new Set<string>();
  const count = (graph: GraphPlan, delta: 1 | -1): void => {
    for (const key of ownRoutes(graph).keys()) {
      let ids = touched.get(key);
      if (!ids) {
        ids = new Set(owners.get(key));
        touched.set(key, ids);
      }
      if (delta > 0) ids.add(graph.id);
      else ids.delete(graph.id);
    }
    if (graph.protocol !== 'v2') return;
    const served = (v2Hosts.get(graph.host) ?? 0) + delta;
    if (served > 0) v2Hosts.set(graph.host, served);
    else v2Hosts.delete(graph.host);
    hosts.add(graph.host);
  };
  for (const graph of gone) count(graph, -1);
  for (const graph of came) count(graph, 1);
  for (const [key, ids] of touched) {
    if (ids.size > 0) owners.set(key, ids);
    else owners.delete(key);
  }
  const keys = new Set(touched.keys());
  // A host that starts or stops serving V2 changes the server health tables.
  if ([...hosts].some((host) => index.v2Hosts.has(host) !== v2Hosts.has(host))) {
    for (const key of healthKeys) keys.add(key);
  }
  for (const key of keys) {
    const scoped = tableOf(key, owners.get(key), graphOf, v2Hosts);
    if (scoped) {
      edits.set(ROUTE, routeTableName(key), scoped.table);
      // A scope is a function of its key: the one there is stays, as the same object.
      if (!edits.has(SCOPED_ROUTE, scopeName(key))) {
        edits.set(SCOPED_ROUTE, scopeName(key), scoped.scope);
      }
    } else {
      edits.remove(ROUTE, routeTableName(key));
      edits.remove(SCOPED_ROUTE, scopeName(key));
    }
  }
  return { owners, v2Hosts };
}
