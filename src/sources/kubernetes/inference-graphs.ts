import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
} from '@kubernetes/client-node';
import { loadGraphObject } from '../../graph/load.ts';
import type { GraphModel } from '../../graph/model.ts';
import type { SourceUpdate } from '../source-update.ts';
import { GROUP, GROUP_LABEL, PLURAL, VERSION } from './crd.ts';
import { Informer, type Backoff } from './informer.ts';
import type { Namespaces } from './namespaces.ts';
import type { InferenceGraphStatus } from './status-schema.ts';

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
  readonly #informers: Informer<InferenceGraphObject & { metadata?: object }>[];
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
    const base = `/apis/${GROUP}/${VERSION}`;
    this.#informers = options.namespaces.map(
      (namespace) =>
        new Informer<InferenceGraphObject>({
          kubeConfig: options.kubeConfig,
          log: options.log,
          backoff: options.backoff,
          what: `${PLURAL}${namespace === undefined ? '' : ` in ${namespace}`}`,
          path:
            namespace === undefined
              ? `${base}/${PLURAL}`
              : `${base}/namespaces/${namespace}/${PLURAL}`,
          list: () =>
            (namespace === undefined
              ? custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
              : custom.listNamespacedCustomObject({
                  group: GROUP,
                  version: VERSION,
                  namespace,
                  plural: PLURAL,
                })) as Promise<KubernetesListObject<InferenceGraphObject>>,
          onChange: (object, deleted) => {
            this.#changed(object, deleted);
          },
        }),
    );
  }

  start(): void {
    for (const informer of this.#informers) informer.start();
  }

  async stop(): Promise<void> {
    clearImmediate(this.#flush);
    await Promise.all(this.#informers.map((informer) => informer.stop()));
  }

  get synced(): boolean {
    return this.#informers.every((informer) => informer.synced);
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.waitForSync()));
    // What the first lists held reaches the pipelines on the next turn.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** How many times the resources were listed: once, then after each error or expired watch. */
  get lists(): number {
    return this.#informers.reduce((sum, informer) => sum + informer.lists, 0);
  }

  /** The resource as last seen, by unit. */
  object(unit: string): InferenceGraphObject | undefined {
    const [namespace = '', name = ''] = unit.split('/');
    for (const informer of this.#informers) {
      const found = informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
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
