import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  VersionApi,
} from '@kubernetes/client-node';
import { gatewayApiStandardInstall } from '../../scripts/setup/gateway-api.ts';
import { kubernetesVersion } from '../../scripts/setup/kubernetes.ts';
import { helmVersion } from '../../scripts/setup/helm.ts';
import { runHelm } from '../support/helm.ts';
import {
  retryWhileStorageInitializing,
  startTestCluster,
  type TestCluster,
} from '../support/kube.ts';
import { waitFor } from '../support/server-process.ts';

let cluster: TestCluster;
let core: CoreV1Api;

before(async () => {
  cluster = await startTestCluster({ controllerManager: true });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
});

after(async () => {
  await cluster.stop();
});

async function statusOf(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

test('the test cluster is the pinned kube-apiserver, reached through a self-contained kubeconfig', async () => {
  const version = await cluster.kubeConfig.makeApiClient(VersionApi).getCode();
  assert.equal(version.gitVersion, kubernetesVersion);
  assert.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/);
});

test('kube-controller-manager runs: a new namespace gets its default ServiceAccount', async () => {
  await cluster.apply('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: harness-kcm\n');
  await waitFor(
    'the default ServiceAccount in harness-kcm',
    async () => {
      await core.readNamespacedServiceAccount({ namespace: 'harness-kcm', name: 'default' });
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
});

test('an informer sees a ConfigMap, and sees new ones again after the API server restarts', async () => {
  const namespace = 'harness-watch';
  await cluster.apply(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`);
  const configMap = (name: string): string =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: ${namespace} }\n`;
  await cluster.apply(configMap('before'));
  const informer = makeInformer(
    cluster.kubeConfig,
    `/api/v1/namespaces/${namespace}/configmaps`,
    () => core.listNamespacedConfigMap({ namespace }),
  );
  const seen = new Set<string>();
  let errors = 0;
  let connects = 0;
  informer.on('add', (configMap) => seen.add(configMap.metadata?.name ?? ''));
  informer.on('connect', () => connects++);
  // client-node's informer stops on an error; the caller restarts it, as a controller would.
  informer.on('error', () => {
    errors++;
    if (errors <= 100)
      setTimeout(() => {
        informer.start().catch(() => undefined);
      }, 250);
  });
  await informer.start();
  try {
    await waitFor(
      'the informer to list "before"',
      () => Promise.resolve(seen.has('before') || undefined),
      {
        timeoutMs: 10_000,
      },
    );
    await cluster.restartApiServer();
    await cluster.apply(configMap('after'));
    await waitFor(
      'the informer to see "after", created once the API server was back',
      () => Promise.resolve(seen.has('after') || undefined),
      { timeoutMs: 30_000 },
    );
    assert.ok(connects >= 2, `the informer connected ${String(connects)} time(s)`);
    assert.deepEqual(
      informer
        .list(namespace)
        .map((configMap) => configMap.metadata?.name)
        // kube-controller-manager publishes the cluster's CA in every namespace.
        .filter((name) => name !== 'kube-root-ca.crt')
        .sort(),
      ['after', 'before'],
    );
  } finally {
    await informer.stop();
  }
});

test('a CRD is applied, becomes Established, and its custom resources are created and listed', async () => {
  await cluster.apply(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.harness.switchyard.io
spec:
  group: harness.switchyard.io
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { size: { type: integer } } }
`);
  await cluster.waitForCrdEstablished('widgets.harness.switchyard.io');
  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  await cluster.apply(`apiVersion: harness.switchyard.io/v1
kind: Widget
metadata: { name: small, namespace: default }
spec: { size: 1 }
`);
  const list = (await retryWhileStorageInitializing(() =>
    custom.listNamespacedCustomObject({
      group: 'harness.switchyard.io',
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
    }),
  )) as { items: { metadata: { name: string }; spec: { size: number } }[] };
  assert.deepEqual(
    list.items.map((item) => [item.metadata.name, item.spec.size]),
    [['small', 1]],
  );
});

test("Gateway API's standard CRDs, from the cached Go module, apply and become Established", async () => {
  await cluster.apply(await readFile(gatewayApiStandardInstall(), 'utf8'));
  for (const kind of ['gatewayclasses', 'gateways', 'httproutes', 'referencegrants'])
    await cluster.waitForCrdEstablished(`${kind}.gateway.networking.k8s.io`);
});

test('RBAC: a ServiceAccount and a certificate user can do only what they are granted', async () => {
  const namespace = 'harness-rbac';
  await cluster.apply(`apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
`);
  const serviceAccount = (
    await cluster.kubeConfigForServiceAccount(namespace, 'reader')
  ).makeApiClient(CoreV1Api);
  const user = (await cluster.kubeConfigForUser('alice', ['harness-devs'])).makeApiClient(
    CoreV1Api,
  );
  const listConfigMaps = (client: CoreV1Api) => () => client.listNamespacedConfigMap({ namespace });
  const listSecrets = (client: CoreV1Api) => () => client.listNamespacedSecret({ namespace });
  assert.equal(await statusOf(listConfigMaps(serviceAccount)), 403);
  assert.equal(await statusOf(listConfigMaps(user)), 403);
  await cluster.apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: configmap-reader, namespace: ${namespace} }
rules:
  - { apiGroups: [""], resources: [configmaps], verbs: [get, list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: configmap-readers, namespace: ${namespace} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader }
subjects:
  - { kind: ServiceAccount, name: reader, namespace: ${namespace} }
  - { kind: Group, apiGroup: rbac.authorization.k8s.io, name: harness-devs }
`);
  // RBAC reads bindings from its informer cache: allow a moment for the grant to arrive.
  await waitFor(
    'the grant to take effect',
    async () =>
      (await statusOf(listConfigMaps(serviceAccount))) === 200 &&
      (await statusOf(listConfigMaps(user))) === 200
        ? true
        : undefined,
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  assert.equal(await statusOf(listSecrets(serviceAccount)), 403);
  assert.equal(await statusOf(listSecrets(user)), 403);
});

test('helm: the pinned version renders a chart, and the API server accepts it in a server dry run', async () => {
  assert.match(
    await runHelm(['version', '--short']),
    new RegExp(`^${helmVersion.replaceAll('.', '\\.')}`),
  );
  const chart = await mkdtemp(join(tmpdir(), 'switchyard-chart-'));
  try {
    await mkdir(join(chart, 'templates'));
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: harness\nversion: 0.1.0\n');
    await writeFile(join(chart, 'values.yaml'), 'greeting: hello\n');
    await writeFile(
      join(chart, 'templates', 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\n  namespace: default\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
    );
    const rendered = await runHelm(['template', 'demo', chart, '--set', 'greeting=bonjour']);
    assert.match(rendered, /name: demo-greeting/);
    assert.match(rendered, /greeting: "bonjour"/);
    const [applied] = (await cluster.apply(rendered, { dryRun: true })) as {
      data?: Record<string, string>;
    }[];
    assert.equal(applied?.data?.greeting, 'bonjour');
    assert.equal(
      await statusOf(() =>
        core.readNamespacedConfigMap({ namespace: 'default', name: 'demo-greeting' }),
      ),
      404,
      'a dry run stores nothing',
    );
  } finally {
    await rm(chart, { recursive: true, force: true });
  }
});
