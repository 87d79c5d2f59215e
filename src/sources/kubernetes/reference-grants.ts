import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { KIND } from '../../spec/schema.ts';
import { GROUP } from './crd.ts';
import type { Backoff } from './informer.ts';
import type { Namespaces } from './namespaces.ts';
import { WatchedResources } from './watched-resources.ts';

/** Gateway API's ReferenceGrant, in the version every Gateway API release serves. */
const grantGroup = 'gateway.networking.k8s.io';
const grantVersion = 'v1beta1';
const grantPlural = 'referencegrants';

interface ReferenceGrant extends KubernetesObject {
  readonly spec?: {
    readonly from?: readonly { group?: string; kind?: string; namespace?: string }[];
    readonly to?: readonly { group?: string; kind?: string; name?: string }[];
  };
}

export interface ReferenceGrantOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespaces: Namespaces;
  readonly onChange: () => void;
  readonly log: (line: string) => void;
  readonly backoff?: Backoff | undefined;
}

/**
 * Which namespaces let InferenceGraphs of others use their Services, as
 * Gateway API's ReferenceGrant says it (gateway.networking.k8s.io/v1beta1):
 * a grant in the Service's namespace from group switchyard.io, kind
 * InferenceGraph, the graph's namespace, to group "" kind Service, all of
 * them or the one named. Without Gateway API's CRDs nothing is granted.
 */
export class ReferenceGrants {
  readonly #grants: WatchedResources<ReferenceGrant>;
  #flush: NodeJS.Immediate | undefined;

  constructor(options: ReferenceGrantOptions) {
    const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const kind = { group: grantGroup, version: grantVersion, plural: grantPlural };
    this.#grants = new WatchedResources<ReferenceGrant>({
      kubeConfig: options.kubeConfig,
      namespaces: options.namespaces,
      log: options.log,
      backoff: options.backoff,
      optional: true,
      plural: grantPlural,
      apiPath: `/apis/${grantGroup}/${grantVersion}`,
      list: (namespace) =>
        (namespace === undefined
          ? custom.listClusterCustomObject(kind)
          : custom.listNamespacedCustomObject({ ...kind, namespace })) as Promise<
          KubernetesListObject<ReferenceGrant>
        >,
      onChange: () => {
        this.#flush ??= setImmediate(() => {
          this.#flush = undefined;
          options.onChange();
        });
      },
    });
  }

  start(): void {
    this.#grants.start();
  }

  async stop(): Promise<void> {
    clearImmediate(this.#flush);
    await this.#grants.stop();
  }

  get synced(): boolean {
    return this.#grants.synced;
  }

  async waitForSync(): Promise<void> {
    await this.#grants.waitForSync();
  }

  /** Whether a graph in `from` may use Service `name` in `to`. */
  allows(from: string, to: string, name: string): boolean {
    if (from === to) return true;
    return this.#grants
      .list(to)
      .some(
        (grant) =>
          (grant.spec?.from ?? []).some(
            (f) => f.group === GROUP && f.kind === KIND && f.namespace === from,
          ) &&
          (grant.spec?.to ?? []).some(
            (t) =>
              (t.group ?? '') === '' &&
              t.kind === 'Service' &&
              (t.name === undefined || t.name === '' || t.name === name),
          ),
      );
  }
}

/** What to apply for a graph in `from` to use Service `name` in `to`. */
export function grantHint(from: string, to: string, name: string): string {
  return `apply in namespace ${to} a ReferenceGrant (${grantGroup}/${grantVersion}) from group ${GROUP} kind ${KIND} namespace ${from} to group "" kind Service name ${name}`;
}
