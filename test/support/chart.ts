import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { runHelm } from './helm.ts';

/** The chart in this repository. */
export const chartDir = join(import.meta.dirname, '..', '..', 'charts', 'switchyard');

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  readonly ports?: { name: string; containerPort: number }[];
  readonly volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readonly resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readonly securityContext?: Record<string, unknown>;
  readonly livenessProbe?: Record<string, unknown>;
  readonly readinessProbe?: Record<string, unknown>;
  readonly startupProbe?: Record<string, unknown>;
}

export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly securityContext?: Record<string, unknown>;
  readonly initContainers?: Container[];
  readonly containers: Container[];
  readonly volumes?: {
    name: string;
    emptyDir?: Record<string, unknown>;
    secret?: Record<string, unknown>;
  }[];
}

export type Rendered = KubernetesObject & Record<string, unknown>;

/** `helm template` of the chart with `--set` values, as objects. */
export async function renderChart(
  release: string,
  namespace: string,
  set: Readonly<Record<string, string | number | boolean>> = {},
): Promise<Rendered[]> {
  const text = await runHelm([
    'template',
    release,
    chartDir,
    '--namespace',
    namespace,
    ...Object.entries(set).flatMap(([key, value]) => ['--set', `${key}=${String(value)}`]),
  ]);
  return parseAllDocuments(text)
    .map((document) => document.toJSON() as Rendered | null)
    .filter((object): object is Rendered => object !== null);
}

export function find(objects: readonly Rendered[], kind: string, name: string): Rendered {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`the chart rendered no ${kind} ${name}`);
  return found;
}

/** The pod template of a rendered Deployment. */
export function podOf(objects: readonly Rendered[], deployment: string): PodSpec {
  const found = find(objects, 'Deployment', deployment) as {
    spec?: { template?: { spec?: PodSpec } };
  };
  const pod = found.spec?.template?.spec;
  if (!pod) throw new Error(`Deployment ${deployment} has no pod template`);
  return pod;
}

export function containerOf(pod: PodSpec, name: string): Container {
  const found = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}
