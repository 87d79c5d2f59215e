import { graphOfUpstream } from '../plan/upstreams.ts';
import { BODY_FILTER, BODY_NAMESPACE, BODY_UNREADABLE_KEY } from './body-fields.ts';
import { LISTENER_NAME } from './listener.ts';
import { METADATA_NAMESPACE } from './options.ts';
import type { EnvoyResource } from './resource-set.ts';
import { ROUTE_FILTERS } from './route-filters.ts';
import {
  CLUSTER,
  ENDPOINT,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  type ResourceTypeUrl,
} from './type-urls.ts';

/** Another resource one depends on, by type and name. */
export interface ResourceNeed {
  readonly typeUrl: ResourceTypeUrl;
  readonly name: string;
  /** A value the needed resource must provide (a body value the body filter must read). */
  readonly value?: string;
  /**
   * "before": Envoy must run it before this resource may be pushed (a route's
   * cluster). "alongside": only that it stays while Envoy may run this one
   * (a cluster's endpoints, which Envoy asks for once it has the cluster).
   */
  readonly order: 'before' | 'alongside';
}

/**
 * What the xDS server must know of a resource to order pushes, keep what
 * Envoy still uses, and say which graphs a rejection concerns. Read from what
 * the translator writes (upstream ids, route metadata, route actions), so
 * the xDS layer needs no graph semantics.
 */
export interface ResourceFacts {
  /** Ids of the graphs whose routes or upstreams the resource carries; none for shared ones. */
  readonly graphs: readonly string[];
  readonly needs: readonly ResourceNeed[];
  /** Values it provides to resources that need them: the body values a body filter config reads. */
  readonly provides: readonly string[];
}

type Json = Readonly<Record<string, unknown>>;

function before(typeUrl: ResourceTypeUrl, name: string, value?: string): ResourceNeed {
  return { typeUrl, name, order: 'before', ...(value !== undefined && { value }) };
}

const none: ResourceFacts = { graphs: [], needs: [], provides: [] };

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function upstreamFacts(name: string, needs: readonly ResourceNeed[]): ResourceFacts {
  const graph = graphOfUpstream(name);
  return { graphs: graph === undefined ? [] : [graph], needs, provides: [] };
}

/** Adds the clusters a route action sends to or mirrors to. */
function addRouteClusters(action: Json | undefined, clusters: Set<string>): void {
  if (!action) return;
  const cluster = text(action.cluster);
  if (cluster !== undefined) clusters.add(cluster);
  for (const weighted of list(object(action.weighted_clusters)?.clusters)) {
    const name = text(object(weighted)?.name);
    if (name !== undefined) clusters.add(name);
  }
  for (const mirror of list(action.request_mirror_policies)) {
    const name = text(object(mirror)?.cluster);
    if (name !== undefined) clusters.add(name);
  }
}

/**
 * Adds the clusters a readiness route checks the health of (its health check
 * filter, in the route's filter chain): they must exist for the answer to be true.
 */
function addReadinessClusters(route: Json, clusters: Set<string>): void {
  const chain = object(
    object(object(route.typed_per_filter_config)?.[ROUTE_FILTERS])?.filter_chain,
  );
  for (const filter of list(chain?.filters)) {
    const checked = object(object(object(filter)?.typed_config)?.cluster_min_healthy_percentages);
    for (const name of Object.keys(checked ?? {})) clusters.add(name);
  }
}

/** Adds the body values a route's match tests, read into metadata by the body filter. */
function addRouteBodyValues(match: Json | undefined, values: Set<string>): void {
  for (const matcher of list(match?.dynamic_metadata)) {
    const m = object(matcher);
    if (m?.filter !== BODY_NAMESPACE) continue;
    const key = text(object(list(m.path)[0])?.key);
    // The filter marks an unreadable body whatever values it is configured to read.
    if (key !== undefined && key !== BODY_UNREADABLE_KEY) values.add(key);
  }
}

/** Every route table of every graph goes through here: one pass, no lists in between. */
function routeTableFacts(table: EnvoyResource): ResourceFacts {
  const graphs = new Set<string>();
  const clusters = new Set<string>();
  const bodyValues = new Set<string>();
  for (const host of list(table.virtual_hosts)) {
    for (const entry of list(object(host)?.routes)) {
      const route = object(entry);
      if (!route) continue;
      const ours = object(object(object(route.metadata)?.filter_metadata)?.[METADATA_NAMESPACE]);
      const graph = text(ours?.graph);
      if (graph !== undefined) graphs.add(graph);
      addRouteClusters(object(route.route), clusters);
      addReadinessClusters(route, clusters);
      addRouteBodyValues(object(route.match), bodyValues);
    }
  }
  const needs: ResourceNeed[] = [];
  for (const name of clusters) needs.push(before(CLUSTER, name));
  // The values come from the graph listener's body filter, configured by ECDS.
  if (bodyValues.size > 0) needs.push(before(LISTENER, LISTENER_NAME, BODY_FILTER));
  for (const value of bodyValues) needs.push(before(EXTENSION_CONFIG, BODY_FILTER, value));
  return { graphs: [...graphs].sort(), needs, provides: [] };
}

/** The HTTP filters of a listener's connection managers, by name. */
function httpFilters(listener: EnvoyResource): string[] {
  return list(listener.filter_chains).flatMap((chain) =>
    list(object(chain)?.filters).flatMap((filter) =>
      list(object(object(filter)?.typed_config)?.http_filters).flatMap(
        (http) => text(object(http)?.name) ?? [],
      ),
    ),
  );
}

/** Clusters named by gRPC services anywhere in a listener (the ext_proc filter's executor). */
function grpcClusters(value: unknown, found: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) grpcClusters(item, found);
    return found;
  }
  const node = object(value);
  if (!node) return found;
  const cluster = text(object(node.envoy_grpc)?.cluster_name);
  if (cluster !== undefined) found.add(cluster);
  for (const child of Object.values(node)) grpcClusters(child, found);
  return found;
}

function bodyFilterFacts(config: EnvoyResource): ResourceFacts {
  const rules = list(object(object(config.typed_config)?.request_rules)?.rules);
  const provides = rules.flatMap((rule) => text(object(object(rule)?.on_present)?.key) ?? []);
  return { graphs: [], needs: [], provides };
}

/** The facts of one resource, given its type and name. Pure. */
export function resourceFacts(
  typeUrl: ResourceTypeUrl,
  name: string,
  resource: EnvoyResource,
): ResourceFacts {
  switch (typeUrl) {
    case CLUSTER:
      // Envoy asks for an EDS cluster's endpoints once it has the cluster: they go along with it.
      return upstreamFacts(
        name,
        resource.type === 'EDS' ? [{ typeUrl: ENDPOINT, name, order: 'alongside' }] : [],
      );
    case ENDPOINT:
      return upstreamFacts(name, []);
    case ROUTE:
      return routeTableFacts(resource);
    case LISTENER:
      return {
        graphs: [],
        needs: [...grpcClusters(resource, new Set())].map((cluster) => before(CLUSTER, cluster)),
        provides: httpFilters(resource),
      };
    case EXTENSION_CONFIG:
      return bodyFilterFacts(resource);
    default:
      return none;
  }
}
