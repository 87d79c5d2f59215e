import { isDeepStrictEqual } from 'node:util';
import { serviceLoadAssignment, type ServiceEndpoint } from '../envoy/cluster.ts';
import { ResourceEdits } from '../envoy/resource-edits.ts';
import type {
  EnvoyResource,
  ResourceChanges,
  ResourceSet,
  TypeChanges,
} from '../envoy/resource-set.ts';
import { ENDPOINT, type ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { GraphModel } from '../graph/model.ts';
import type { PlannedGraph } from '../plan/plan.ts';
import type { UpstreamPlan } from '../plan/types.ts';

/** An upstream served by a Kubernetes Service, and the graph whose node it is. */
export interface ServiceUpstream {
  readonly graph: GraphModel;
  readonly upstream: UpstreamPlan & { readonly endpoints: { readonly kind: 'service' } };
}

/** A Service's endpoints for one graph's reference, or why it gets none. */
export type EndpointsFor = (
  graph: GraphModel,
  reference: { readonly namespace: string; readonly name: string; readonly port: number | string },
) =>
  | { readonly endpoints: readonly ServiceEndpoint[] }
  | {
      readonly problem: string;
      /** The Service's namespace does not let the graph's use it. */
      readonly notPermitted?: true;
    };

export function isServiceUpstream(upstream: UpstreamPlan): upstream is ServiceUpstream['upstream'] {
  return upstream.endpoints.kind === 'service';
}

/** "namespace/name" of the Service an upstream is served by. */
export function serviceOf(upstream: ServiceUpstream['upstream']): string {
  return `${upstream.endpoints.namespace}/${upstream.endpoints.name}`;
}

/** The Service-served upstreams of a plan, worked out once per plan. */
const upstreamsOfPlan = new WeakMap<PlannedGraph, readonly ServiceUpstream[]>();

/** Every Service-served upstream of the graphs served, by id; their plans as compiled. */
export function serviceUpstreams(
  served: readonly GraphModel[],
  plannedOf: (graph: GraphModel) => PlannedGraph | undefined,
): Map<string, ServiceUpstream> {
  const found = new Map<string, ServiceUpstream>();
  for (const graph of served) {
    const planned = plannedOf(graph);
    if (!planned) continue;
    let upstreams = upstreamsOfPlan.get(planned);
    if (!upstreams) {
      upstreams = planned.upstreams
        .filter(isServiceUpstream)
        .map((upstream) => ({ graph, upstream }));
      upstreamsOfPlan.set(planned, upstreams);
    }
    for (const service of upstreams) found.set(service.upstream.id, service);
  }
  return found;
}

interface Assigned {
  readonly service: ServiceUpstream;
  readonly endpoints: readonly ServiceEndpoint[];
}

export interface Overlaid {
  readonly resources: ResourceSet;
  readonly changes: ResourceChanges;
}

/**
 * Adds the endpoints of every Service-served upstream to what the
 * translator made: a ClusterLoadAssignment each, from the Service's
 * EndpointSlices as they are now. A graph change and an endpoint change
 * both edit the endpoints the cache last got, so the changes it is handed
 * name only what differs from that; an endpoint change touches nothing but
 * endpoints, and a Service with no endpoint still gets an (empty)
 * assignment, so its cluster is there and answers 503.
 */
export class ServiceEndpointOverlay {
  readonly #endpointsFor: EndpointsFor;
  /** The translator's endpoints last merged. */
  #translated: ReadonlyMap<string, EnvoyResource> = new Map();
  /** What the cache last got: the translator's resources with the Services' endpoints. */
  #last: ResourceSet = new Map();
  readonly #assigned = new Map<string, Assigned>();

  constructor(endpointsFor: EndpointsFor) {
    this.#endpointsFor = endpointsFor;
  }

  /**
   * The translator's latest resources (and what changed in them) with the
   * endpoints of `services`: every Service-served upstream they hold.
   */
  merge(
    resources: ResourceSet,
    changes: ResourceChanges,
    services: ReadonlyMap<string, ServiceUpstream>,
  ): Overlaid {
    const translated = resources.get(ENDPOINT) ?? new Map<string, EnvoyResource>();
    const edits = new ResourceEdits(this.#last);
    const fromTranslator = changes.get(ENDPOINT);
    if (fromTranslator?.base === this.#translated) {
      for (const name of fromTranslator.removed) edits.remove(ENDPOINT, name);
      for (const name of fromTranslator.updated) {
        const resource = translated.get(name);
        if (resource) edits.set(ENDPOINT, name, resource);
      }
    } else if (translated !== this.#translated) {
      // Not an edit of what was merged last (the first translation): take it whole.
      for (const name of this.#last.get(ENDPOINT)?.keys() ?? []) {
        if (!translated.has(name) && !this.#assigned.has(name)) edits.remove(ENDPOINT, name);
      }
      for (const [name, resource] of translated) edits.set(ENDPOINT, name, resource);
    }
    this.#translated = translated;
    for (const id of [...this.#assigned.keys()]) {
      if (services.has(id)) continue;
      this.#assigned.delete(id);
      if (!translated.has(id)) edits.remove(ENDPOINT, id);
    }
    for (const [id, service] of services) {
      if (this.#assigned.get(id)?.service.upstream !== service.upstream)
        this.#assign(edits, service);
    }
    return this.#result(resources, changes, edits);
  }

  /**
   * The endpoints of the upstreams served by `changed` Services (every
   * one when not given) again; undefined when no assignment changed.
   */
  refresh(changed?: ReadonlySet<string>): Overlaid | undefined {
    const edits = new ResourceEdits(this.#last);
    let touched = false;
    for (const { service } of this.#assigned.values()) {
      if (changed && !changed.has(serviceOf(service.upstream))) continue;
      touched = this.#assign(edits, service) || touched;
    }
    if (!touched) return undefined;
    return this.#result(this.#last, new Map(), edits);
  }

  /** Sets an upstream's assignment; says whether its endpoints changed. */
  #assign(edits: ResourceEdits, service: ServiceUpstream): boolean {
    const { endpoints } = service.upstream;
    const resolved = this.#endpointsFor(service.graph, endpoints);
    const list = 'endpoints' in resolved ? resolved.endpoints : [];
    const id = service.upstream.id;
    const before = this.#assigned.get(id);
    this.#assigned.set(id, { service, endpoints: list });
    if (before && isDeepStrictEqual(before.endpoints, list) && edits.has(ENDPOINT, id))
      return false;
    edits.set(ENDPOINT, id, serviceLoadAssignment(id, list));
    return true;
  }

  #result(resources: ResourceSet, changes: ResourceChanges, edits: ResourceEdits): Overlaid {
    const edited = edits.result();
    const endpoints = edited.resources.get(ENDPOINT) ?? this.#last.get(ENDPOINT) ?? new Map();
    const merged = new Map(resources);
    merged.set(ENDPOINT, endpoints);
    const mergedChanges = new Map<ResourceTypeUrl, TypeChanges>(changes);
    const endpointChanges = edited.changes.get(ENDPOINT);
    if (endpointChanges) mergedChanges.set(ENDPOINT, endpointChanges);
    else mergedChanges.delete(ENDPOINT);
    this.#last = merged;
    return { resources: merged, changes: mergedChanges };
  }
}
