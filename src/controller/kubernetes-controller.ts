import type { KubeConfig } from '@kubernetes/client-node';
import type { GraphModel } from '../graph/model.ts';
import { graphNamespace, serviceReferences } from '../graph/services.ts';
import { ServiceIndex } from '../sources/kubernetes/services.ts';
import {
  InferenceGraphSource,
  type GroupedUpdate,
  type InferenceGraphObject,
} from '../sources/kubernetes/inference-graphs.ts';
import type { Backoff } from '../sources/kubernetes/informer.ts';
import { isWatched, watchedNamespaces } from '../sources/kubernetes/namespaces.ts';
import { grantHint, ReferenceGrants } from '../sources/kubernetes/reference-grants.ts';
import type { SourceUpdate } from '../sources/source-update.ts';
import { DEFAULT_GROUP } from '../xds/cache.ts';
import { desiredStatus, type DesiredStatus, type UnresolvedReference } from './graph-conditions.ts';
import type { GroupPipeline } from './group-pipeline.ts';
import { LeaderElector, type LeaderElectionOptions } from './leader-election.ts';
import type { EndpointsFor } from './service-endpoints.ts';
import type { GraphStatus } from './status.ts';
import { StatusWriter } from './status-writer.ts';

export interface KubernetesOptions {
  readonly kubeConfig: KubeConfig;
  /** The namespaces whose InferenceGraphs, Services and grants are followed; all by default. */
  readonly namespaces?: readonly string[];
  readonly leaderElection: Pick<
    LeaderElectionOptions,
    'namespace' | 'name' | 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'
  >;
  /** How informers wait after an error; short in tests. */
  readonly backoff?: Backoff | undefined;
}

/** What the controller needs of the control plane it runs in. */
export interface KubernetesHost {
  pipelineFor(group: string): GroupPipeline;
  pipelines(): Iterable<GroupPipeline>;
  /** What every Envoy of the group, at the moment `statuses` was made, runs of each graph. */
  statuses(): (group: string, graph: GraphModel) => GraphStatus | undefined;
  readonly log: (line: string) => void;
}

/** How often every status is looked at again, whatever happened. */
const resyncMs = 30_000;

/**
 * The Kubernetes side of the control plane: InferenceGraph resources as
 * source units of their node group's pipeline, the Services (and the
 * ReferenceGrants that let other namespaces use them) that give their
 * nodes endpoints, and their statuses, written by the replica that leads.
 */
export class KubernetesController {
  readonly #host: KubernetesHost;
  readonly #namespaces;
  readonly #graphs: InferenceGraphSource;
  readonly #services: ServiceIndex;
  readonly #grants: ReferenceGrants;
  readonly #elector: LeaderElector;
  readonly #writer: StatusWriter;
  #ready = false;
  #resync: NodeJS.Timeout | undefined;

  constructor(options: KubernetesOptions, host: KubernetesHost) {
    this.#host = host;
    const { kubeConfig, backoff } = options;
    const log = host.log;
    this.#namespaces = watchedNamespaces(options.namespaces);
    const common = { kubeConfig, namespaces: this.#namespaces, log, backoff };
    this.#writer = new StatusWriter({
      kubeConfig,
      fieldManager: 'switchyard-controller',
      log,
      mayWrite: () => this.#elector.isLeader,
      source: {
        object: (unit) => this.#graphs.object(unit),
        pass: () => {
          const statusOf = host.statuses();
          return (unit, object) => this.#desired(unit, object, statusOf);
        },
      },
    });
    this.#graphs = new InferenceGraphSource({
      ...common,
      onUpdates: (updates) => {
        this.#apply(updates);
      },
      onObject: (unit, object) => {
        this.#writer.observed(unit, object);
      },
    });
    this.#writer.setUnits(() => this.#graphs.units().keys());
    this.#services = new ServiceIndex({
      ...common,
      onChange: (services) => {
        for (const pipeline of host.pipelines()) pipeline.endpointsChanged(services);
        this.#writer.touch();
      },
    });
    this.#grants = new ReferenceGrants({
      ...common,
      onChange: () => {
        for (const pipeline of host.pipelines()) pipeline.endpointsChanged();
        this.#writer.touch();
      },
    });
    this.#elector = new LeaderElector({
      ...options.leaderElection,
      kubeConfig,
      log,
      onStartedLeading: () => {
        // Whatever changed while another replica led, or none did, is written now.
        this.#writer.touch();
      },
      onStoppedLeading: () => undefined,
    });
  }

  /** Informers synced and their first state served. */
  get ready(): boolean {
    return this.#ready;
  }

  get isLeader(): boolean {
    return this.#elector.isLeader;
  }

  /** How many times InferenceGraphs were listed: once, then after each error or 410 Gone. */
  get graphLists(): number {
    return this.#graphs.lists;
  }

  /** Successful status writes by this replica. */
  get statusWrites(): number {
    return this.#writer.writes;
  }

  start(): void {
    // Services first: a graph's endpoints are there when it is first served.
    this.#services.start();
    this.#grants.start();
    this.#graphs.start();
    this.#elector.start();
    void Promise.all([
      this.#services.waitForSync(),
      this.#grants.waitForSync(),
      this.#graphs.waitForSync(),
    ]).then(() => {
      this.#ready = true;
      this.#host.log('kubernetes: informers synced, first snapshot built');
    });
    this.#resync = setInterval(() => {
      this.#writer.touch();
    }, resyncMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#resync);
    await this.#writer.stop();
    await this.#elector.stop();
    await Promise.all([this.#graphs.stop(), this.#services.stop(), this.#grants.stop()]);
  }

  /** What Envoys of a group run changed: their graphs' statuses may have. */
  envoysChanged(group: string): void {
    const pipeline = this.#host.pipelineFor(group);
    const units = [...this.#graphs.units()]
      .filter(([, reported]) => (reported.group ?? DEFAULT_GROUP) === pipeline.group)
      .map(([unit]) => unit);
    this.#writer.touch(units);
  }

  /** Where a graph's Service-served node gets its endpoints, if it may use the Service. */
  readonly endpointsFor: EndpointsFor = (graph, reference) => {
    const from = graphNamespace(graph);
    const { namespace, name, port } = reference;
    // Graph files are the control plane's own configuration; resources are their namespace's.
    if (
      this.#graphs.owns(graph.source) &&
      namespace !== from &&
      !this.#grants.allows(from, namespace, name)
    ) {
      return {
        problem: `Service ${namespace}/${name} is in another namespace, which does not let ${from} use it: ${grantHint(from, namespace, name)}`,
        notPermitted: true,
      };
    }
    if (!isWatched(this.#namespaces, namespace)) {
      return {
        problem: `Service ${namespace}/${name}: namespace ${namespace} is not watched (--namespaces)`,
      };
    }
    return this.#services.resolve(namespace, name, port);
  };

  #apply(updates: readonly GroupedUpdate[]): void {
    const byGroup = new Map<string, SourceUpdate[]>();
    for (const { group, update } of updates) {
      const key = group ?? DEFAULT_GROUP;
      const list = byGroup.get(key);
      if (list) list.push(update);
      else byGroup.set(key, [update]);
    }
    for (const [group, list] of byGroup) this.#host.pipelineFor(group).apply(list);
    this.#writer.touch();
  }

  #desired(
    unit: string,
    object: InferenceGraphObject,
    statusOf: (group: string, graph: GraphModel) => GraphStatus | undefined,
  ): DesiredStatus | undefined {
    const reported = this.#graphs.units().get(unit);
    // The pipelines have not taken in this version yet: its status is written once they have.
    if (!reported || reported.generation !== (object.metadata?.generation ?? 0)) return undefined;
    const group = reported.group ?? DEFAULT_GROUP;
    const pipeline = this.#host.pipelineFor(group);
    const [graph] = pipeline.servedOf(unit);
    const served = graph && {
      graph,
      generation: this.#graphs.generationOf(graph) ?? reported.generation,
      status: statusOf(group, graph),
      ...this.#references(graph),
    };
    return desiredStatus({
      generation: reported.generation,
      group: pipeline.group,
      problems: pipeline.problemsOf(unit),
      ...(served && { served }),
    });
  }

  #references(graph: GraphModel): { unresolved: UnresolvedReference[]; references: number } {
    const references = serviceReferences(graph);
    const unresolved: UnresolvedReference[] = [];
    for (const reference of references) {
      const resolved = this.endpointsFor(graph, reference);
      if ('problem' in resolved) {
        unresolved.push({
          node: reference.node,
          problem: resolved.problem,
          notPermitted: resolved.notPermitted === true,
        });
      }
    }
    return { unresolved, references: references.length };
  }
}
