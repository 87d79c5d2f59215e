import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Where the API server is: the file given, else the pod's own ServiceAccount
 * when running in a cluster, else $KUBECONFIG or ~/.kube/config.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const config = new KubeConfig();
  if (path !== undefined) config.loadFromFile(path);
  else if (
    process.env.KUBERNETES_SERVICE_HOST !== undefined &&
    existsSync(`${serviceAccountDir}/token`)
  ) {
    config.loadFromCluster();
  } else config.loadFromDefault();
  return config;
}

/** The namespace this pod runs in, else "default". */
export function podNamespace(): string {
  try {
    return readFileSync(`${serviceAccountDir}/namespace`, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

/** Who this replica is in a leader election: its pod (host) name, and a suffix of its own. */
export function replicaIdentity(): string {
  return `${process.env.HOSTNAME ?? hostname()}-${randomBytes(3).toString('hex')}`;
}
