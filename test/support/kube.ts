import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  AuthenticationV1TokenRequest,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  V1TokenRequestSpec,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { parseAllDocuments, stringify } from 'yaml';
import { kubernetesBinaries } from '../../scripts/setup/kubernetes.ts';
import { freePort } from './ports.ts';
import { startServerProcess, waitFor, type ServerProcess } from './server-process.ts';
import { makeKeyPair, makeTestCa, type IssuedCert, type TestCa } from './test-pki.ts';

/** A real etcd + kube-apiserver (and kube-controller-manager if asked) on loopback. */
export interface TestCluster {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** A self-contained kubeconfig file (embedded certificates) for the admin (system:masters). */
  readonly kubeconfigPath: string;
  /** The admin's KubeConfig, read from that file. */
  readonly kubeConfig: KubeConfig;
  readonly ca: TestCa;
  /** Server-side applies every object in the YAML text (or the objects), in order. */
  apply(
    manifests: string | readonly KubernetesObject[],
    options?: { fieldManager?: string; dryRun?: boolean },
  ): Promise<KubernetesObject[]>;
  /** Waits until the CustomResourceDefinition `name` (plural.group) is Established. */
  waitForCrdEstablished(name: string, timeoutMs?: number): Promise<void>;
  /** A client for a user named by a client certificate signed by the cluster's CA. */
  kubeConfigForUser(user: string, groups?: readonly string[]): Promise<KubeConfig>;
  /** A client for a ServiceAccount (created if missing), by a token from the TokenRequest API. */
  kubeConfigForServiceAccount(namespace: string, name: string): Promise<KubeConfig>;
  /** Kills kube-apiserver and starts it again on the same port and etcd; resolves once ready. */
  restartApiServer(): Promise<void>;
  /** Compacts etcd's history up to its current revision; resolves to that revision. */
  compactEtcd(): Promise<number>;
  /** The last output of etcd, kube-apiserver and kube-controller-manager. */
  logs(): string;
  /** Stops every process and deletes the temporary folder. */
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /** Also run kube-controller-manager: default ServiceAccounts, EndpointSlices, GC, namespace deletion. */
  readonly controllerManager?: boolean;
  /** More kube-apiserver flags (an audit log, no watch cache, ...). */
  readonly apiServerArgs?: readonly string[];
}

const readyTimeoutMs = 120_000;

/**
 * The object as client-node's model of its kind, which KubernetesObjectApi serializes by the
 * model's field names: a plain object read from YAML would lose every field whose JSON name
 * differs from its model name (a CRD schema's `x-kubernetes-*`, `$ref`), silently
 * (kubernetes-client/javascript#2962). Objects of unknown kinds stay as they are.
 */
function asModel(object: KubernetesObject): KubernetesObject {
  if (Object.getPrototypeOf(object) !== Object.prototype) return object;
  return loadYaml<KubernetesObject>(JSON.stringify(object));
}

/**
 * Retries `call` while the API server answers 429 "storage is (re)initializing", as it may for a
 * custom resource right after its CRD is Established (client-node throws instead of retrying).
 */
export async function retryWhileStorageInitializing<T>(
  call: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 429 || Date.now() >= deadline)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function kubeconfigText(
  server: string,
  ca: string,
  user: { name: string; cert?: IssuedCert; token?: string },
): string {
  const credentials =
    user.cert !== undefined
      ? {
          'client-certificate-data': Buffer.from(user.cert.cert).toString('base64'),
          'client-key-data': Buffer.from(user.cert.key).toString('base64'),
        }
      : { token: user.token ?? '' };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'switchyard-test',
        cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') },
      },
    ],
    users: [{ name: user.name, user: credentials }],
    contexts: [
      {
        name: 'switchyard-test',
        context: { cluster: 'switchyard-test', user: user.name, namespace: 'default' },
      },
    ],
    'current-context': 'switchyard-test',
  });
}

function kubeConfigFromText(text: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromString(text);
  return config;
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const binaries = kubernetesBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-kube-'));
  const processes: ServerProcess[] = [];
  let apiServer: ServerProcess | undefined;
  let adminTls: Agent | undefined;
  try {
    const ca = await makeTestCa(dir);
    const serving = await ca.issue('apiserver', {
      commonName: 'kube-apiserver',
      hosts: ['127.0.0.1', 'localhost'],
      usage: 'server',
    });
    const admin = await ca.issue('admin', {
      commonName: 'switchyard-admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const serviceAccountKey = await makeKeyPair(dir, 'service-account');
    const [etcdPort, peerPort, apiPort, controllerPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const server = `https://127.0.0.1:${String(apiPort)}`;
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const adminKubeconfig = kubeconfigText(server, ca.cert, {
      name: 'switchyard-admin',
      cert: admin,
    });
    await writeFile(kubeconfigPath, adminKubeconfig);
    const readyzAgent = new Agent({ connect: { ca: ca.cert, cert: admin.cert, key: admin.key } });
    adminTls = readyzAgent;

    const etcdUrl = `http://127.0.0.1:${String(etcdPort)}`;
    const peerUrl = `http://127.0.0.1:${String(peerPort)}`;
    const etcd = startServerProcess('etcd', binaries.etcd, [
      '--name=switchyard-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=switchyard-test=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    processes.push(etcd);
    await waitFor(
      'etcd /health',
      async () => {
        const response = await request(`${etcdUrl}/health`);
        const body = (await response.body.json()) as { health?: string };
        return body.health === 'true' ? true : undefined;
      },
      { timeoutMs: readyTimeoutMs, processes: [etcd] },
    );

    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${String(apiPort)}`,
      // The default reconciler refuses a loopback advertise address and exits at once.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${serving.certFile}`,
      `--tls-private-key-file=${serving.keyFile}`,
      `--client-ca-file=${ca.certFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${serviceAccountKey.publicKeyFile}`,
      `--service-account-signing-key-file=${serviceAccountKey.privateKeyFile}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--profiling=false',
      ...(options.apiServerArgs ?? []),
    ];
    const startApiServer = async (): Promise<void> => {
      apiServer = startServerProcess('kube-apiserver', binaries.kubeApiserver, apiServerArgs);
      processes.push(apiServer);
      await waitFor(
        'kube-apiserver /readyz',
        async () => {
          const response = await request(`${server}/readyz`, { dispatcher: readyzAgent });
          await response.body.text();
          return response.statusCode === 200 ? true : undefined;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 200, processes: [etcd, apiServer] },
      );
    };
    await startApiServer();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);

    if (options.controllerManager === true) {
      const controllerManager = startServerProcess(
        'kube-controller-manager',
        binaries.kubeControllerManager,
        [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${String(controllerPort)}`,
          `--cert-dir=${join(dir, 'controller-manager-certs')}`,
          `--service-account-private-key-file=${serviceAccountKey.privateKeyFile}`,
          `--root-ca-file=${ca.certFile}`,
          '--use-service-account-credentials=false',
          '--leader-elect=false',
        ],
      );
      processes.push(controllerManager);
      // Its controllers run once it has made the default namespace's default ServiceAccount.
      const core = kubeConfig.makeApiClient(CoreV1Api);
      await waitFor(
        'kube-controller-manager to create the default ServiceAccount',
        async () => {
          await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
          return true;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 250, processes: [controllerManager] },
      );
    }

    const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    return {
      server,
      kubeconfigPath,
      kubeConfig,
      ca,
      async apply(manifests, applyOptions = {}) {
        const list =
          typeof manifests === 'string'
            ? parseAllDocuments(manifests)
                .map((document) => document.toJSON() as KubernetesObject | null)
                .filter((object): object is KubernetesObject => object !== null)
            : manifests;
        const applied: KubernetesObject[] = [];
        for (const object of list)
          applied.push(
            await retryWhileStorageInitializing(() =>
              objects.patch(
                asModel(object),
                undefined,
                applyOptions.dryRun === true ? 'All' : undefined,
                applyOptions.fieldManager ?? 'switchyard-test',
                true,
                PatchStrategy.ServerSideApply,
              ),
            ),
          );
        return applied;
      },
      async waitForCrdEstablished(name, timeoutMs = 30_000) {
        const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
        await waitFor(
          `CRD ${name} to be Established`,
          async () => {
            const crd = await extensions.readCustomResourceDefinition({ name });
            const established = crd.status?.conditions?.find((c) => c.type === 'Established');
            return established?.status === 'True' ? true : undefined;
          },
          { timeoutMs, intervalMs: 100 },
        );
      },
      async kubeConfigForUser(user, groups = []) {
        const cert = await ca.issue(`user-${user.replace(/[^\w.-]/g, '_')}`, {
          commonName: user,
          organizations: groups,
          usage: 'client',
        });
        return kubeConfigFromText(kubeconfigText(server, ca.cert, { name: user, cert }));
      },
      async kubeConfigForServiceAccount(namespace, name) {
        try {
          await objects.create({
            apiVersion: 'v1',
            kind: 'ServiceAccount',
            metadata: { name, namespace },
          });
        } catch (error) {
          if (!(error instanceof ApiException) || error.code !== 409) throw error;
        }
        const body = new AuthenticationV1TokenRequest();
        body.spec = new V1TokenRequestSpec();
        body.spec.audiences = [];
        body.spec.expirationSeconds = 3600;
        const tokenRequest = await kubeConfig
          .makeApiClient(CoreV1Api)
          .createNamespacedServiceAccountToken({ namespace, name, body });
        const token = tokenRequest.status?.token;
        if (token === undefined)
          throw new Error(`no token for ServiceAccount ${namespace}/${name}`);
        return kubeConfigFromText(
          kubeconfigText(server, ca.cert, {
            name: `system:serviceaccount:${namespace}:${name}`,
            token,
          }),
        );
      },
      async restartApiServer() {
        await apiServer?.stop();
        await startApiServer();
      },
      async compactEtcd() {
        // etcd's JSON gateway: the current revision from any range read, then compaction up to it.
        const range = await request(`${etcdUrl}/v3/kv/range`, {
          method: 'POST',
          body: JSON.stringify({ key: Buffer.from('/').toString('base64') }),
        });
        const { header } = (await range.body.json()) as { header: { revision: string } };
        const revision = Number(header.revision);
        const compaction = await request(`${etcdUrl}/v3/kv/compaction`, {
          method: 'POST',
          body: JSON.stringify({ revision, physical: true }),
        });
        const answer = await compaction.body.text();
        if (compaction.statusCode !== 200) throw new Error(`etcd compaction: ${answer}`);
        return revision;
      },
      logs() {
        return processes
          .map((child) => `----- ${child.name}\n${child.output().slice(-4000)}`)
          .join('\n');
      },
      async stop() {
        for (const child of [...processes].reverse()) await child.stop();
        await readyzAgent.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const child of [...processes].reverse()) await child.stop();
    await adminTls?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
