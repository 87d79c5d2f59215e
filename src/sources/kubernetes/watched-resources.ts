import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { Informer, type Backoff } from './informer.ts';
import type { Namespaces } from './namespaces.ts';

export interface WatchedResourcesOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  readonly namespaces: Namespaces;
  /** The kind's plural, as in its paths: "services". */
  readonly plural: string;
  /** Where its group and version are served: "/api/v1", "/apis/discovery.k8s.io/v1". */
  readonly apiPath: string;
  /** Lists it in one namespace, or in every one (undefined). */
  readonly list: (namespace: string | undefined) => Promise<KubernetesListObject<T>>;
  readonly onChange: (object: T, deleted: boolean) => void;
  readonly log: (line: string) => void;
  readonly backoff?: Backoff | undefined;
  /** A kind whose CRD may not be installed (Informer's `optional`). */
  readonly optional?: boolean;
}

/**
 * One kind of resource in the watched namespaces: an informer per listed
 * namespace, or one for them all, started, stopped and read as one.
 */
export class WatchedResources<T extends KubernetesObject> {
  readonly #namespaces: Namespaces;
  readonly #informers: readonly Informer<T>[];

  constructor(options: WatchedResourcesOptions<T>) {
    const { namespaces, plural, apiPath } = options;
    this.#namespaces = namespaces;
    this.#informers = namespaces.map(
      (namespace) =>
        new Informer<T>({
          kubeConfig: options.kubeConfig,
          log: options.log,
          backoff: options.backoff,
          ...(options.optional === true && { optional: true }),
          what: namespace === undefined ? plural : `${plural} in ${namespace}`,
          path:
            namespace === undefined
              ? `${apiPath}/${plural}`
              : `${apiPath}/namespaces/${namespace}/${plural}`,
          list: () => options.list(namespace),
          onChange: options.onChange,
        }),
    );
  }

  start(): void {
    for (const informer of this.#informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.stop()));
  }

  /** Whether every namespace's first list is in. */
  get synced(): boolean {
    return this.#informers.every((informer) => informer.synced);
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.waitForSync()));
  }

  /** How many times they listed: once each, then again after each error or expired watch. */
  get lists(): number {
    return this.#informers.reduce((sum, informer) => sum + informer.lists, 0);
  }

  /** Whether `namespace` is watched: a resource there can be known. */
  watches(namespace: string): boolean {
    return this.#informerOf(namespace) !== undefined;
  }

  get(namespace: string, name: string): T | undefined {
    return this.#informerOf(namespace)?.get(name, namespace);
  }

  list(namespace: string): readonly T[] {
    return this.#informerOf(namespace)?.list(namespace) ?? [];
  }

  #informerOf(namespace: string): Informer<T> | undefined {
    return this.#informers.find((_, index) => {
      const watched = this.#namespaces[index];
      return watched === undefined || watched === namespace;
    });
  }
}
