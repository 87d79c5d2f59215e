import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import type { RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import type { InferenceGraphObject } from '../../src/sources/kubernetes/inference-graphs.ts';
import type { Condition } from '../../src/sources/kubernetes/status-schema.ts';
import { waitFor } from './server-process.ts';

/** Reads InferenceGraph resources and waits for their status to say something. */
export class Graphs {
  readonly #api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async get(namespace: string, name: string): Promise<InferenceGraphObject> {
    return (await this.#api.getNamespacedCustomObject({
      group: 'switchyard.io',
      version: 'v1alpha1',
      plural: 'inferencegraphs',
      namespace,
      name,
    })) as InferenceGraphObject;
  }

  async delete(namespace: string, name: string): Promise<void> {
    await this.#api.deleteNamespacedCustomObject({
      group: 'switchyard.io',
      version: 'v1alpha1',
      plural: 'inferencegraphs',
      namespace,
      name,
    });
  }

  /** Waits until the resource's condition `type` passes `check`; resolves to it. */
  async condition(
    namespace: string,
    name: string,
    type: string,
    check: (condition: Condition, object: InferenceGraphObject) => boolean,
    timeoutMs = 20_000,
  ): Promise<Condition> {
    let last: unknown;
    try {
      return await waitFor(
        `${namespace}/${name} ${type}`,
        async () => {
          const object = await this.get(namespace, name);
          last = object.status;
          const condition = object.status?.conditions?.find((c) => c.type === type);
          return condition && check(condition, object) ? condition : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; status: ${JSON.stringify(last, null, 2)}`);
    }
  }
}

export interface EnvoyHost {
  readonly address: string;
  readonly port: number;
  readonly health: string;
}

/** The hosts Envoy has for a cluster, from its admin API (/clusters?format=json). */
export async function envoyHosts(
  envoy: RunningEnvoy,
  cluster: string,
): Promise<EnvoyHost[] | undefined> {
  const response = await request(`${envoy.adminUrl}/clusters?format=json`);
  const body = (await response.body.json()) as {
    cluster_statuses?: {
      name: string;
      host_statuses?: {
        address?: { socket_address?: { address: string; port_value: number } };
        health_status?: { eds_health_status?: string };
      }[];
    }[];
  };
  const found = body.cluster_statuses?.find((c) => c.name === cluster);
  if (!found) return undefined;
  return (found.host_statuses ?? [])
    .map((host) => ({
      address: host.address?.socket_address?.address ?? '',
      port: host.address?.socket_address?.port_value ?? 0,
      health: host.health_status?.eds_health_status ?? 'HEALTHY',
    }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}
