import type { GraphPlan } from '../plan/types.ts';
import { graphRoutes, readinessClusters } from './route.ts';
import { serverRoutes } from './server-routes.ts';
import { memoizeByIdentity } from './memoize.ts';
import type { ResourceEdits } from './resource-edits.ts';
import { ROUTE, SCOPED_ROUTE } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';
import { virtualHostStatName } from './stat-names.ts';
import { routeTableName, scope, SCOPE_HEADER, scopeKeyOf, scopeName } from './scopes.ts';

type Route = Record<string, unknown>;

/** Routes by host, hosts in first-seen order. */
type HostRoutes = Map<string, Route[]>;

/** The literal start of a URI template: where its first variable begins. */
function templatePrefix(match: { path_match_policy?: unknown } | undefined): string | undefined {
  const policy = match?.path_match_policy as
    { typed_config?: { path_template?: unknown } } | undefined;
  const template = policy?.typed_config?.path_template;
  return typeof template === 'string' ? template.slice(0, template.indexOf('{')) : undefined;
}

function pathOf(route: Route): string {
  const match = route.match as
    { path?: unknown; path_separated_prefix?: unknown; path_match_policy?: unknown } | undefined;
  const path = match?.path ?? match?.path_separated_prefix ?? templatePrefix(match);
  // Graph routes match paths, or templates whose literal start names the scope; anything else is our bug.
  if (typeof path !== 'string') throw new Error(`route ${String(route.name)} matches no path`);
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
      // Route stats are named after the virtual host (stat-names.ts).
      name: host === '*' ? 'any-host' : virtualHostStatName(host),
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

/** Which graphs route under each scope key, and which graphs each host serves. */
export interface RouteIndex {
  /** Scope key → ids of the graphs with routes under it. */
  readonly owners: ReadonlyMap<string, ReadonlySet<string>>;
  /** Host → ids of the graphs served on it: each host answers for them as a server. */
  readonly hosts: ReadonlyMap<string, ReadonlySet<string>>;
}

export const emptyRouteIndex: RouteIndex = { owners: new Map(), hosts: new Map() };

/** The keys of the routes a host answers as a server, whatever it serves. */
const serverKeys = new Set(
  ['/v2/health/live', '/v2/health/ready', '/v2', '/'].map((path) => scopeKeyOf(path)),
);

function graphsOn(
  ids: ReadonlySet<string> | undefined,
  graphOf: (id: string) => GraphPlan | undefined,
): GraphPlan[] {
  return [...(ids ?? [])].sort().flatMap((id) => {
    const graph = graphOf(id);
    return graph ? [graph] : [];
  });
}

/**
 * The table and scope of one key. A key is usually one graph's alone: its
 * table is then the same object until that graph changes. Keys graphs share
 * (Seldon's paths, a server's answers on each host) are assembled from every
 * sharer, a host's server answers first, then graphs in id order, so a table
 * does not depend on the order graphs came in.
 */
function tableOf(
  key: string,
  ids: ReadonlySet<string> | undefined,
  graphOf: (id: string) => GraphPlan | undefined,
  hosts: RouteIndex['hosts'],
): ScopedTable | undefined {
  const server = serverKeys.has(key);
  if (ids?.size === 1 && !server) {
    const [only] = ids;
    const graph = only === undefined ? undefined : graphOf(only);
    const own = graph && ownTables(graph).get(key);
    if (own) return own;
  }
  const byHost: HostRoutes = new Map();
  if (server) {
    for (const host of [...hosts.keys()].sort()) {
      for (const route of serverRoutes(host, graphsOn(hosts.get(host), graphOf))) {
        if (scopeKeyOf(pathOf(route)) === key) addRoute(byHost, host, route);
      }
    }
  }
  for (const graph of graphsOn(ids, graphOf)) {
    for (const route of ownRoutes(graph).get(key)?.get(graph.host) ?? []) {
      addRoute(byHost, graph.host, route);
    }
  }
  return byHost.size === 0 ? undefined : scopedTable(key, byHost);
}

/** What a graph contributes to its host's server answers: a change to it changes them. */
function serverPart(graph: GraphPlan): string {
  return `${graph.host} ${graph.protocol} ${readinessClusters(graph).join(' ')}`;
}

/**
 * Brings route tables and their scopes up to date with a change of graphs:
 * `gone` are the plans that left or were replaced, `came` the ones that
 * arrived or replace them, `graphOf` finds any plan after the change. Only the
 * keys those plans route under are assembled again, and the server answers of
 * hosts whose graphs changed in a way they show.
 */
export function editRouteTables(
  index: RouteIndex,
  graphOf: (id: string) => GraphPlan | undefined,
  gone: readonly GraphPlan[],
  came: readonly GraphPlan[],
  edits: ResourceEdits,
): RouteIndex {
  const owners = new Map(index.owners);
  // The owners of each key this edit touches, copied once: a key many graphs share
  // (Seldon's) would otherwise be copied once per graph, quadratic on a first load.
  const touched = new Map<string, Set<string>>();
  const hostsTouched = new Map<string, Set<string>>();
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
    let onHost = hostsTouched.get(graph.host);
    if (!onHost) {
      onHost = new Set(index.hosts.get(graph.host));
      hostsTouched.set(graph.host, onHost);
    }
    if (delta > 0) onHost.add(graph.id);
    else onHost.delete(graph.id);
  };
  for (const graph of gone) count(graph, -1);
  for (const graph of came) count(graph, 1);
  for (const [key, ids] of touched) {
    if (ids.size > 0) owners.set(key, ids);
    else owners.delete(key);
  }
  const hosts = new Map(index.hosts);
  for (const [host, ids] of hostsTouched) {
    if (ids.size > 0) hosts.set(host, ids);
    else hosts.delete(host);
  }
  const keys = new Set(touched.keys());
  if (serverAnswersChanged(index.hosts, hosts, gone, came)) {
    for (const key of serverKeys) keys.add(key);
  }
  for (const key of keys) {
    const scoped = tableOf(key, owners.get(key), graphOf, hosts);
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
  return { owners, hosts };
}

/**
 * Whether a host's server answers change: a graph came to or left a host,
 * one changed what it shows them (protocol, readiness), or the one graph of
 * a host changed (its routes are the host's root).
 */
function serverAnswersChanged(
  before: RouteIndex['hosts'],
  after: RouteIndex['hosts'],
  gone: readonly GraphPlan[],
  came: readonly GraphPlan[],
): boolean {
  const left = new Map(gone.map((graph) => [graph.id, graph]));
  for (const graph of came) {
    const previous = left.get(graph.id);
    left.delete(graph.id);
    if (!previous || serverPart(previous) !== serverPart(graph)) return true;
    if (before.get(graph.host)?.size === 1 || after.get(graph.host)?.size === 1) return true;
  }
  return left.size > 0;
}
