import type protobuf from 'protobufjs';
import type { ListenerOptions } from '../envoy/options.ts';
import type { EnvoyResource, ResourceChanges, ResourceSet } from '../envoy/resource-set.ts';
import { EXECUTION_PLAN } from '../envoy/type-urls.ts';
import type { GraphModel } from '../graph/model.ts';
import type { ExecutorRoutePlan } from '../plan/types.ts';
import { log as defaultLog } from '../runtime/log.ts';
import type { SourceUpdate } from '../sources/source-update.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import type { SnapshotCache } from '../xds/cache.ts';
import { GraphCompiler } from './compile.ts';
import { LastGoodGraphs } from './last-good.ts';
import {
  ServiceEndpointOverlay,
  serviceUpstreams,
  type EndpointsFor,
} from './service-endpoints.ts';

/** Plans kept for older routes at most; executors keep those they had beyond that themselves. */
const MAX_RETAINED_PLANS = 1024;

/** Where the executor takes over a graph, and how Envoy brings it requests. */
export type ExecutorEntry = Pick<ExecutorRoutePlan, 'entry' | 'transport' | 'binaryTensorsOnly'>;

export interface GroupPipelineOptions {
  /** Where Service-served nodes get their endpoints; without it, no node may be one. */
  readonly endpointsFor?: EndpointsFor;
  readonly log?: (line: string) => void;
  /** Told how long each compile took, in seconds: for the metrics. */
  readonly compiled?: (seconds: number) => void;
}

/**
 * One node group's pipeline: its sources' updates in, its snapshot out.
 * What is served is decided in one place (LastGoodGraphs): a unit whose new
 * version fails any check keeps its last good version. The endpoints of
 * Service-served nodes follow their Services without a compile.
 */
export class GroupPipeline {
  readonly group: string;
  readonly #cache: SnapshotCache;
  readonly #compiler: GraphCompiler;
  readonly #graphs: LastGoodGraphs;
  readonly #overlay: ServiceEndpointOverlay | undefined;
  readonly #log: (line: string) => void;
  readonly #reported = new Map<string, string>();
  /** The plans the current routes name, and those older routes named that an Envoy may still run. */
  #plans: ReadonlyMap<string, EnvoyResource> = new Map();
  readonly #retained = new Map<string, EnvoyResource>();
  #published: ResourceSet | undefined;
  readonly #compiled: (seconds: number) => void;

  constructor(
    group: string,
    cache: SnapshotCache,
    root: protobuf.Root,
    listener: ListenerOptions,
    options: GroupPipelineOptions = {},
  ) {
    this.group = group;
    this.#compiled = options.compiled ?? (() => undefined);
    this.#cache = cache;
    this.#log = options.log ?? defaultLog;
    this.#compiler = new GraphCompiler(root, listener, {
      services: options.endpointsFor !== undefined,
    });
    this.#graphs = new LastGoodGraphs((graph) => this.#compiler.problemsOf(graph));
    this.#overlay = options.endpointsFor && new ServiceEndpointOverlay(options.endpointsFor);
    // Envoys of the group get its listeners at once, before any graph arrives.
    this.#serve();
  }

  /** Where the executor runs `graph` from, and how Envoy reaches it; none when Envoy runs it alone. */
  executors(graph: GraphModel): readonly ExecutorEntry[] {
    return (
      this.#compiler
        .plannedOf(graph)
        ?.graph.executors.map(({ entry, transport, binaryTensorsOnly }) => ({
          entry,
          transport,
          ...(binaryTensorsOnly && { binaryTensorsOnly }),
        })) ?? []
    );
  }

  problems(): ReadonlyMap<string, readonly Diagnostic[]> {
    return this.#graphs.problems();
  }

  /** The problems of one unit, if it has any. */
  problemsOf(unit: string): readonly Diagnostic[] | undefined {
    return this.#graphs.problemsOf(unit);
  }

  served(): readonly GraphModel[] {
    return this.#graphs.graphs();
  }

  /** Serves the same graphs on new data-plane options (a rotated executor CA). */
  useListener(listener: ListenerOptions): void {
    this.#compiler.useListener(listener);
    this.#serve();
  }

  /** The graphs one unit serves: its last good version's. */
  servedOf(unit: string): readonly GraphModel[] {
    return this.#graphs.servedOf(unit);
  }

  /**
   * Serves what a change leaves served. Every served graph passed its
   * checks, the compiler's among them, so the compile leaves none out; it
   * costs what changed, not how many graphs there are.
   */
  apply(updates: readonly SourceUpdate[]): void {
    if (this.#graphs.apply(updates)) this.#serve();
  }

  #serve(): void {
    const served = this.#graphs.graphs();
    const started = performance.now();
    const compiled = this.#compiler.compile(served);
    this.#compiled((performance.now() - started) / 1000);
    this.#report(this.#graphs.problems());
    const { resources, changes } = this.#overlay
      ? this.#overlay.merge(
          compiled.resources,
          compiled.changes,
          serviceUpstreams(served, (graph) => this.#compiler.plannedOf(graph)),
        )
      : compiled;
    // The changes are relative to the last compile, which is what the cache has only when it
    // was the first: the cache checks that, and looks at everything otherwise.
    const changed = this.#publish(resources, changes);
    if (changed)
      this.#log(`group ${this.group}: serving ${String(compiled.accepted.length)} graph(s)`);
  }

  /**
   * Hands the cache the group's resources, with the plans routes no longer
   * name kept beside the current ones until every Envoy runs the routes
   * that replaced them (`envoysRun`): an executor that connects meanwhile
   * must find the plan of any route an Envoy may still match.
   */
  #publish(resources: ResourceSet, changes: ResourceChanges): boolean {
    const plans = resources.get(EXECUTION_PLAN) ?? new Map<string, EnvoyResource>();
    for (const [name, plan] of this.#plans) if (!plans.has(name)) this.#retained.set(name, plan);
    for (const name of plans.keys()) this.#retained.delete(name);
    // An Envoy that never ACKs (it refused a route) must not make the control plane hoard plans.
    for (const name of this.#retained.keys()) {
      if (this.#retained.size <= MAX_RETAINED_PLANS) break;
      this.#retained.delete(name);
    }
    this.#plans = plans;
    this.#published = resources;
    if (this.#retained.size === 0) return this.#cache.setSnapshot(this.group, resources, changes);
    // The cache versions the plans from the whole map: its changes are the translator's map's.
    const withRetained = new Map(resources);
    withRetained.set(EXECUTION_PLAN, new Map([...plans, ...this.#retained]));
    const otherChanges = new Map(changes);
    otherChanges.delete(EXECUTION_PLAN);
    return this.#cache.setSnapshot(this.group, withRetained, otherChanges);
  }

  /** Whether some plan is kept for routes an Envoy may still run. */
  get retainsPlans(): boolean {
    return this.#retained.size > 0;
  }

  /**
   * Every Envoy of the group runs the current routes (each ACKed them): the
   * plans only older routes named go.
   */
  envoysRunCurrentRoutes(): void {
    if (this.#retained.size === 0 || !this.#published) return;
    this.#retained.clear();
    this.#cache.setSnapshot(this.group, this.#published);
  }

  /**
   * Services' endpoints (or who may use them) changed: the endpoints of
   * the nodes they serve go out again, and nothing else does.
   */
  endpointsChanged(services?: ReadonlySet<string>): void {
    const overlaid = this.#overlay?.refresh(services);
    if (overlaid) this.#publish(overlaid.resources, overlaid.changes);
  }

  /** Logs each problem once, and when it is gone. */
  #report(current: ReadonlyMap<string, readonly Diagnostic[]>): void {
    for (const [source, diagnostics] of current) {
      const text = diagnostics.map(formatDiagnostic).join('\n');
      if (this.#reported.get(source) === text) continue;
      this.#reported.set(source, text);
      this.#log(`rejected ${source}; the last good version keeps serving:\n${text}`);
    }
    for (const source of this.#reported.keys()) {
      if (!current.has(source)) {
        this.#reported.delete(source);
        this.#log(`${source} is valid again`);
      }
    }
  }
}
