import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
} from '@kubernetes/client-node';
import { loadGraphObject } from '../../graph/load.ts';
import type { GraphModel } from '../../graph/model.ts';
import type { SourceUpdate } from '../source-update.ts';
import { GROUP, GROUP_LABEL, PLURAL, VERSION } from './crd.ts';
import type { Backoff } from './informer.ts';
import type { Namespaces } from './namespaces.ts';
import type { InferenceGraphStatus } from './status-schema.ts';
import { WatchedResources } from './watched-resources.ts';

/** An InferenceGraph custom resource as the API server holds it. */
export interface InferenceGraphObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
  readonly status?: InferenceGraphStatus;
}

/** An update for the node group the resource names (undefined: the default group). */
export interface GroupedUpdate {
  readonly group: string | undefined;
  readonly update: SourceUpdate;
}

/** "namespace/name": a resource's unit, and its graph's source. */
export function unitOf(object: InferenceGraphObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

interface Reported {
  readonly generation: number;
  readonly group: string | undefined;
}

export interface InferenceGraphSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespaces: Namespaces;
  readonly onUpdates: (updates: readonly GroupedUpdate[]) => void;
  /** Called for every version of a resource the watch brings (undefined: it was deleted). */
  readonly onObject?: (unit: string, object: InferenceGraphObject | undefined) => void;
  readonly log: (line: string) => void;
  readonly backoff?: Backoff | undefined;
}

/**
 * InferenceGraph custom resources as source units, one per resource
 * ("namespace/name"), each in the node group its `switchyard.io/group`
 * label names. A resource is read again only when its spec changed (its
 * generation) or its group did: a status written changes neither, so its
 * graph stays the same object downstream.
 */
export class InferenceGraphSource {
  readonly #options: InferenceGraphSourceOptions;
  readonly #resources: WatchedResources<InferenceGraphObject & { metadata?: object }>;
  /** What each resource was last read as. */
  readonly #seen = new Map<string, Reported>();
  /** What the pipelines were told of each resource: what was seen, once it reached them. */
  readonly #reported = new Map<string, Reported>();
  readonly #generations = new WeakMap<GraphModel, number>();
  #pending: { readonly grouped: GroupedUpdate; readonly reported?: Reported }[] = [];
  #flush: NodeJS.Immediate | undefined;

  constructor(options: InferenceGraphSourceOptions) {
    this.#options = options;
    const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const kind = { group: GROUP, version: VERSION, plural: PLURAL };
    this.#resources = new WatchedResources<InferenceGraphObject>({
      kubeConfig: options.kubeConfig,
      namespaces: options.namespaces,
      log: options.log,
      backoff: options.backoff,
      plural: PLURAL,
      apiPath: `/apis/${GROUP}/${VERSION}`,
      list: (namespace) =>
        (namespace === undefined
          ? custom.listClusterCustomObject(kind)
          : custom.listNamespacedCustomObject({ ...kind, namespace })) as Promise<
          KubernetesListObject<InferenceGraphObject>
        >,
      onChange: (object, deleted) => {
        this.#changed(object, deleted);
      },
    });
  }

  start(): void {
    this.#resources.start();
  }

  async stop(): Promise<void> {
    clearImmediate(this.#flush);
    await this.#resources.stop();
  }

  get synced(): boolean {
    return this.#resources.synced;
  }

  async waitForSync(): Promise<void> {
    await this.#resources.waitForSync();
    // What the first lists held reaches the pipelines on the next turn.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** How many times the resources were listed: once, then after each error or expired watch. */
  get lists(): number {
    return this.#resources.lists;
  }

  /** The resource as last seen, by unit. */
  object(unit: string): InferenceGraphObject | undefined {
    const [namespace = '', name = ''] = unit.split('/');
    return this.#resources.get(namespace, name);
  }

  /** Every unit the pipelines were told of, with the generation and group they were told. */
  units(): ReadonlyMap<string, Reported> {
    return this.#reported;
  }

  /** Whether a unit is one of these resources (not a file). */
  owns(unit: string): boolean {
    return this.#seen.has(unit) || this.#reported.has(unit);
  }

  /** The generation of the resource a graph was read from. */
  generationOf(graph: GraphModel): number | undefined {
    return this.#generations.get(graph);
  }

  #changed(object: InferenceGraphObject, deleted: boolean): void {
    const unit = unitOf(object);
    this.#options.onObject?.(unit, deleted ? undefined : object);
    const before = this.#seen.get(unit);
    if (deleted) {
      if (!before) return;
      this.#seen.delete(unit);
      this.#emit({ group: before.group, update: { unit, removed: true } });
      return;
    }
    const generation = object.metadata?.generation ?? 0;
    const group = object.metadata?.labels?.[GROUP_LABEL];
    if (before?.generation === generation && before.group === group) return;
    if (before && before.group !== group) {
      this.#emit({ group: before.group, update: { unit, removed: true } });
    }
    const { graph, diagnostics } = loadGraphObject(unit, object);
    if (graph) this.#generations.set(graph, generation);
    const reported = { generation, group };
    this.#seen.set(unit, reported);
    this.#emit({ group, update: { unit, graphs: graph ? [graph] : [], diagnostics } }, reported);
  }

  /** Updates that arrive together (a first list) reach the pipelines as one batch. */
  #emit(grouped: GroupedUpdate, reported?: Reported): void {
    this.#pending.push({ grouped, ...(reported && { reported }) });
    this.#flush ??= setImmediate(() => {
      this.#flush = undefined;
      const pending = this.#pending;
      this.#pending = [];
      for (const {
        grouped: { update },
        reported: now,
      } of pending) {
        if (now) this.#reported.set(update.unit, now);
        else if ('removed' in update && !this.#seen.has(update.unit)) {
          this.#reported.delete(update.unit);
        }
      }
      this.#options.onUpdates(pending.map((p) => p.grouped));
    });
  }
}
