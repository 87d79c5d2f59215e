import { isDeepStrictEqual } from 'node:util';
import type { PlannedGraph } from '../plan/plan.ts';
import type { BodyField, GraphPlan, UpstreamPlan } from '../plan/types.ts';
import { BODY_FILTER, bodyFieldsResource, graphBodyFields } from './body-fields.ts';
import { cluster, executorCluster, loadAssignment, otlpCluster, selfCluster } from './cluster.ts';
import { hopRouteConfiguration } from './hop-routes.ts';
import { hopListener, listener } from './listener.ts';
import type { ListenerOptions } from './options.ts';
import { graphPlanResources } from './plan-carriage.ts';
import { ResourceEdits } from './resource-edits.ts';
import type { EnvoyResource, ResourceChanges, ResourceSet } from './resource-set.ts';
import { editRouteTables, emptyRouteIndex, type RouteIndex } from './route-configuration.ts';
import {
  CLUSTER,
  ENDPOINT,
  EXECUTION_PLAN,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  pushOrder,
  type ResourceTypeUrl,
} from './type-urls.ts';

interface TranslatedGraph {
  readonly planned: PlannedGraph;
  /** The upstreams whose resources are in place: equal ones of an older plan stay. */
  readonly upstreams: readonly UpstreamPlan[];
}

/**
 * What one translation hands the next: the plans it translated and what
 * they became. Translating from it costs what changed, not what exists.
 */
export interface Translation {
  readonly options: ListenerOptions;
  readonly graphs: ReadonlyMap<string, TranslatedGraph>;
  /** Graphs whose hops the executor calls through the hop listener, by id. */
  readonly hopGraphs: ReadonlyMap<string, GraphPlan>;
  readonly routes: RouteIndex;
  readonly bodyFields: BodyFieldUse;
  readonly resources: ResourceSet;
  /** What differs from the translation this one was made from. */
  readonly changes: ResourceChanges;
}

function emptyTranslation(options: ListenerOptions): Translation {
  return {
    options,
    graphs: new Map(),
    hopGraphs: new Map(),
    routes: emptyRouteIndex,
    bodyFields: new Map(),
    resources: new Map(pushOrder.map((type) => [type, new Map<string, EnvoyResource>()])),
    changes: new Map(),
  };
}

function setNamed(edits: ResourceEdits, type: ResourceTypeUrl, resource: EnvoyResource): void {
  edits.set(type, String(resource.name), resource);
}

/**
 * Replaces one graph's clusters and endpoints. A replanned graph's upstreams
 * are new objects even when only a weight changed: an upstream equal to the
 * one it replaces is kept, so its resources stay the same objects.
 */
function editUpstreams(
  edits: ResourceEdits,
  options: ListenerOptions,
  before: readonly UpstreamPlan[],
  after: readonly UpstreamPlan[],
): UpstreamPlan[] {
  const old = new Map(before.map((upstream) => [upstream.id, upstream]));
  const inPlace = after.map((upstream) => {
    const previous = old.get(upstream.id);
    old.delete(upstream.id);
    const kept = previous && isDeepStrictEqual(previous, upstream) ? previous : upstream;
    setNamed(edits, CLUSTER, cluster(kept, options));
    // A Service's endpoints are the controller's to add, from its EndpointSlices.
    if (kept.endpoints.kind === 'static') edits.set(ENDPOINT, kept.id, loadAssignment(kept));
    else edits.remove(ENDPOINT, kept.id);
    return kept;
  });
  for (const upstream of old.values()) {
    edits.remove(CLUSTER, upstream.id);
    edits.remove(ENDPOINT, upstream.id);
  }
  return inPlace;
}

/** How many graphs test each body value, by path: Envoy reads the values some graph tests. */
type BodyFieldUse = ReadonlyMap<string, { readonly field: BodyField; readonly graphs: number }>;

/** The use after graphs left and came, and whether the set of values read changed. */
function countBodyFields(
  before: BodyFieldUse,
  gone: readonly GraphPlan[],
  came: readonly GraphPlan[],
): { use: BodyFieldUse; changed: boolean } {
  if (![...gone, ...came].some((graph) => graphBodyFields(graph).length > 0)) {
    return { use: before, changed: false };
  }
  const use = new Map(before);
  const add = (graph: GraphPlan, delta: number) => {
    for (const field of graphBodyFields(graph)) {
      const graphs = (use.get(field.path)?.graphs ?? 0) + delta;
      if (graphs > 0) use.set(field.path, { field, graphs });
      else use.delete(field.path);
    }
  };
  for (const graph of gone) add(graph, -1);
  for (const graph of came) add(graph, 1);
  const changed = use.size !== before.size || [...use.keys()].some((path) => !before.has(path));
  return { use, changed };
}

function byId(a: GraphPlan, b: GraphPlan): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Planned graphs → Envoy resources. Pure: the same plans always yield the
 * same resources. Given the previous translation, only the graphs whose
 * plan object changed are translated again and only the resources they
 * touch are replaced; everything else stays the same object.
 */
export function translate(
  planned: readonly PlannedGraph[],
  options: ListenerOptions,
  previous?: Translation,
): Translation {
  const from = previous?.options === options ? previous : emptyTranslation(options);
  const graphs = new Map<string, TranslatedGraph>();
  const gone: GraphPlan[] = [];
  const came: GraphPlan[] = [];
  const edits = new ResourceEdits(from.resources);
  let kept = 0;
  for (const graph of planned) {
    const id = graph.graph.id;
    const before = from.graphs.get(id);
    if (before?.planned === graph) {
      graphs.set(id, before);
      kept += 1;
      continue;
    }
    came.push(graph.graph);
    if (before) gone.push(before.planned.graph);
    const upstreams = editUpstreams(edits, options, before?.upstreams ?? [], graph.upstreams);
    graphs.set(id, { planned: graph, upstreams });
  }
  // Only when some graph left is it worth looking for which.
  if (kept + gone.length < from.graphs.size) {
    for (const [id, before] of from.graphs) {
      if (graphs.has(id)) continue;
      gone.push(before.planned.graph);
      editUpstreams(edits, options, before.upstreams, []);
    }
  }
  const fresh = from !== previous;
  if (!fresh && gone.length === 0 && came.length === 0) return { ...from, changes: new Map() };

  const bodyFields = countBodyFields(from.bodyFields, gone, came);
  const readsBodies = bodyFields.use.size > 0;
  if (fresh || readsBodies !== from.bodyFields.size > 0) {
    setNamed(edits, LISTENER, listener(options, readsBodies));
  }
  if (bodyFields.changed) {
    const fields = [...bodyFields.use.values()].map((use) => use.field);
    fields.sort((a, b) => (a.path < b.path ? -1 : 1));
    if (readsBodies) setNamed(edits, EXTENSION_CONFIG, bodyFieldsResource(fields));
    else edits.remove(EXTENSION_CONFIG, BODY_FILTER);
  }
  if (fresh) {
    const otlp = otlpCluster(options);
    for (const resource of [
      executorCluster(options, 'http2'),
      executorCluster(options, 'http1'),
      selfCluster(options),
      ...(otlp ? [otlp] : []),
    ]) {
      setNamed(edits, CLUSTER, resource);
    }
    setNamed(edits, LISTENER, hopListener(options));
  }
  const routes = editRouteTables(
    from.routes,
    (id) => graphs.get(id)?.planned.graph,
    gone,
    came,
    edits,
  );

  // Plans too large for a header, named by their hash: a changed plan is a new name.
  for (const graph of gone) {
    for (const plan of graphPlanResources(graph)) edits.remove(EXECUTION_PLAN, plan.name ?? '');
  }
  for (const graph of came) {
    for (const plan of graphPlanResources(graph)) setNamed(edits, EXECUTION_PLAN, plan);
  }

  let hopGraphs = from.hopGraphs;
  const hopsChanged = [...gone, ...came].some((graph) => graph.hops.length > 0);
  if (fresh || hopsChanged) {
    const next = new Map(hopGraphs);
    for (const graph of gone) next.delete(graph.id);
    for (const graph of came) if (graph.hops.length > 0) next.set(graph.id, graph);
    hopGraphs = next;
    setNamed(edits, ROUTE, hopRouteConfiguration([...next.values()].sort(byId)));
  }
  return { options, graphs, hopGraphs, routes, bodyFields: bodyFields.use, ...edits.result() };
}
