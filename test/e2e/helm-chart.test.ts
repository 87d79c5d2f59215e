import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  V1ResourceAttributes,
  V1SelfSubjectAccessReview,
  V1SelfSubjectAccessReviewSpec,
} from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { gatewayApiStandardInstall } from '../../scripts/setup/gateway-api.ts';
import { istioCrds } from '../../scripts/setup/istio.ts';
import { PINNED_ENVOY } from '../../src/runtime/envoy-binary.ts';
import {
  chartDir,
  containerOf,
  find,
  podOf,
  renderChart,
  type PodSpec,
  type Rendered,
} from '../support/chart.ts';
import { runHelm } from '../support/helm.ts';
import { startTestCluster, type TestCluster } from '../support/kube.ts';
import { waitFor } from '../support/server-process.ts';

/**
 * The Helm chart, against the pinned helm and a real kube-apiserver: it lints, renders what the
 * contract with the controller says for each setup, refuses bad values, installs, upgrades and
 * uninstalls, and its RBAC grants the control plane what it needs and nothing else (asked of
 * the API server as that ServiceAccount). The examples are checked against Istio's and Gateway
 * API's CRDs.
 */
const release = 'switchyard';
const namespace = 'switchyard';
const socketDir = '/var/run/switchyard';
const statusTokenDir = '/var/run/secrets/switchyard/status-token';
const root = join(import.meta.dirname, '..', '..');

const variants = {
  defaults: {},
  executorDeployment: {
    'executor.mode': 'deployment',
    'executor.replicas': 3,
    'executor.workers': 3,
  },
  scoped: {
    'controller.namespaces': '{ml,team-b}',
    'controller.replicas': 3,
    'gateway.replicas': 4,
  },
  mutualTls: {
    'xdsTls.enabled': true,
    'xdsTls.serverSecret': 'xds-server',
    'xdsTls.clientSecret': 'xds-client',
  },
  exposed: {
    'gateway.service.type': 'LoadBalancer',
    'gateway.service.nodePort': 30080,
    'gateway.deltaXds': true,
  },
} as const;

let cluster: TestCluster;
let appVersion: string;

before(async () => {
  cluster = await startTestCluster();
  appVersion = (
    parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string }
  ).appVersion;
});

after(async () => {
  await cluster.stop();
});

async function createNamespaces(...names: string[]): Promise<void> {
  await cluster.apply(
    names
      .map((name) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name} }\n`)
      .join('---\n'),
  );
}

function setArgs(set: Readonly<Record<string, string | number | boolean>>): string[] {
  return Object.entries(set).flatMap(([key, value]) => ['--set', `${key}=${String(value)}`]);
}

function names(objects: readonly Rendered[]): string[] {
  return objects
    .map(
      (object) =>
        `${object.kind ?? ''} ${object.metadata?.namespace ?? '-'}/${object.metadata?.name ?? ''}`,
    )
    .sort();
}

function deployments(objects: readonly Rendered[]): { name: string; pod: PodSpec }[] {
  return objects
    .filter((object) => object.kind === 'Deployment')
    .map((object) => ({
      name: object.metadata?.name ?? '',
      pod: podOf(objects, object.metadata?.name ?? ''),
    }));
}

/** Every pod non-root with the runtime's seccomp profile; every container locked down, with resources. */
function assertHardened(objects: readonly Rendered[]): void {
  for (const { name, pod } of deployments(objects)) {
    const security = pod.securityContext ?? {};
    assert.equal(security.runAsNonRoot, true, `${name}: runAsNonRoot`);
    assert.deepEqual(security.seccompProfile, { type: 'RuntimeDefault' }, name);
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const where = `${name}/${container.name}`;
      assert.deepEqual(
        container.securityContext,
        {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        },
        where,
      );
      const { requests = {}, limits = {} } = container.resources ?? {};
      assert.ok(requests.cpu, `${where}: a CPU request`);
      assert.ok(requests.memory, `${where}: a memory request`);
      assert.ok(limits.memory, `${where}: a memory limit`);
    }
  }
}

test('helm lint --strict passes with the default values and every other setup the tests render', async () => {
  for (const set of Object.values(variants))
    await runHelm(['lint', '--strict', chartDir, ...setArgs(set)]);
});

test('default values: the control plane, the gateway with the executor beside Envoy on Unix sockets, least RBAC', async () => {
  const objects = await renderChart(release, namespace);
  assert.deepEqual(names(objects), [
    'ClusterRole -/switchyard-controller',
    'ClusterRoleBinding -/switchyard-controller',
    'Deployment switchyard/switchyard-controller',
    'Deployment switchyard/switchyard-gateway',
    'PodDisruptionBudget switchyard/switchyard-controller',
    'PodDisruptionBudget switchyard/switchyard-gateway',
    'Role switchyard/switchyard-leader-election',
    'RoleBinding switchyard/switchyard-leader-election',
    'Secret switchyard/switchyard-status-token',
    'Service switchyard/switchyard-controller',
    'Service switchyard/switchyard-gateway',
    'ServiceAccount switchyard/switchyard-controller',
    'ServiceAccount switchyard/switchyard-data-plane',
  ]);
  assertHardened(objects);
  const packageVersion = (
    JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }
  ).version;
  assert.equal(appVersion, packageVersion, "the chart's appVersion is Switchyard's version");
  const image = `ghcr.io/switchyard/switchyard:${appVersion}`;

  // The control plane: the contract's flags, told where Envoy meets the executor.
  assert.equal(
    (find(objects, 'Deployment', 'switchyard-controller').spec as { replicas: number }).replicas,
    2,
  );
  const controlPlane = podOf(objects, 'switchyard-controller');
  assert.equal(controlPlane.serviceAccountName, 'switchyard-controller');
  const controller = containerOf(controlPlane, 'controller');
  assert.equal(controller.image, image);
  assert.deepEqual(controller.args, [
    'serve',
    '--kubernetes',
    '--leader-election-namespace=$(POD_NAMESPACE)',
    '--xds-address=0.0.0.0',
    '--xds-port=18000',
    '--status-address=0.0.0.0',
    '--status-port=18080',
    `--status-token-file=${statusTokenDir}/token`,
    '--listen-address=0.0.0.0',
    '--listen-port=10000',
    '--hop-port=10001',
    '--executor-workers=2',
    `--sockets=${socketDir}`,
  ]);
  // The status port listens beyond loopback (the kubelet probes it): GET /status needs the token
  // of a Secret the chart makes, mounted as a file.
  assert.deepEqual(controller.volumeMounts, [
    { name: 'status-token', mountPath: statusTokenDir, readOnly: true },
  ]);
  assert.deepEqual(controlPlane.volumes, [
    {
      name: 'status-token',
      secret: {
        secretName: 'switchyard-status-token',
        items: [{ key: 'token', path: 'token' }],
        defaultMode: 0o440,
      },
    },
  ]);
  const token = Buffer.from(
    (find(objects, 'Secret', 'switchyard-status-token') as { data: { token: string } }).data.token,
    'base64',
  ).toString('utf8');
  assert.match(token, /^[A-Za-z0-9]{48}$/);
  const again = await renderChart(release, namespace);
  assert.notEqual(
    (find(again, 'Secret', 'switchyard-status-token') as { data: { token: string } }).data.token,
    Buffer.from(token).toString('base64'),
    'a random token for each new install',
  );
  assert.deepEqual(
    controller.env?.find((variable) => variable.name === 'POD_NAMESPACE')?.valueFrom,
    { fieldRef: { fieldPath: 'metadata.namespace' } },
  );
  assert.deepEqual(controller.livenessProbe?.httpGet, { path: '/healthz', port: 'status' });
  assert.deepEqual(controller.readinessProbe?.httpGet, { path: '/readyz', port: 'status' });
  assert.deepEqual(controller.ports, [
    { name: 'xds', containerPort: 18000 },
    { name: 'status', containerPort: 18080 },
  ]);
  const controllerService = find(objects, 'Service', 'switchyard-controller') as {
    spec: { ports: { name: string; port: number; targetPort: string }[] };
  };
  assert.deepEqual(
    controllerService.spec.ports.map(({ name, port, targetPort }) => [name, port, targetPort]),
    [
      ['grpc-xds', 18000, 'xds'],
      ['http-status', 18080, 'status'],
    ],
  );

  // The gateway: bootstrapped by `switchyard bootstrap` to the control plane's Service.
  const gateway = podOf(objects, 'switchyard-gateway');
  assert.equal(gateway.serviceAccountName, 'switchyard-data-plane');
  assert.equal(gateway.automountServiceAccountToken, false);
  const bootstrap = containerOf(gateway, 'bootstrap');
  assert.equal(bootstrap.image, image);
  assert.deepEqual(bootstrap.args, [
    'bootstrap',
    '--node-id=$(POD_NAME)',
    '--node-cluster=switchyard',
    '--xds-address=switchyard-controller.switchyard.svc.cluster.local',
    '--xds-port=18000',
    '--admin-port=9901',
    '--ready-port=19001',
    '--ready-address=0.0.0.0',
    '--output=/etc/switchyard/bootstrap.json',
  ]);
  const envoy = containerOf(gateway, 'envoy');
  assert.equal(
    envoy.image,
    `envoyproxy/envoy:distroless-v${PINNED_ENVOY}`,
    'the Envoy the tests run',
  );
  assert.deepEqual(envoy.command, ['/usr/local/bin/envoy']);
  assert.deepEqual(envoy.args, [
    '--config-path',
    '/etc/switchyard/bootstrap.json',
    '--disable-hot-restart',
    '--concurrency',
    '2',
    '--log-level',
    'info',
  ]);
  assert.deepEqual(envoy.ports, [
    { name: 'http', containerPort: 10000 },
    { name: 'ready', containerPort: 19001 },
  ]);
  for (const probe of [envoy.startupProbe, envoy.readinessProbe, envoy.livenessProbe])
    assert.deepEqual(probe?.httpGet, { path: '/ready', port: 'ready' });
  const executor = containerOf(gateway, 'executor');
  assert.equal(executor.image, image);
  // An xDS client of the control plane, for the plans too large for a route header.
  assert.deepEqual(executor.args, [
    'executor',
    `--sockets=${socketDir}`,
    '--workers=2',
    '--xds-address=switchyard-controller.switchyard.svc.cluster.local',
    '--xds-port=18000',
    '--node-cluster=switchyard',
  ]);
  for (const container of [envoy, executor])
    assert.deepEqual(
      container.volumeMounts?.find((mount) => mount.name === 'sockets')?.mountPath,
      socketDir,
      `${container.name} mounts the shared socket directory`,
    );
  assert.deepEqual(
    gateway.volumes?.map((volume) => [volume.name, volume.emptyDir !== undefined]),
    [
      ['bootstrap', true],
      ['sockets', true],
    ],
  );
  const gatewayService = find(objects, 'Service', 'switchyard-gateway') as {
    spec: { type: string; ports: { port: number; targetPort: string }[] };
  };
  assert.equal(gatewayService.spec.type, 'ClusterIP');
  assert.deepEqual(
    gatewayService.spec.ports.map(({ port, targetPort }) => [port, targetPort]),
    [[80, 'http']],
  );
  for (const budget of ['switchyard-controller', 'switchyard-gateway'])
    assert.equal(
      (find(objects, 'PodDisruptionBudget', budget).spec as { maxUnavailable: number })
        .maxUnavailable,
      1,
    );
  assert.equal(
    (
      find(objects, 'ServiceAccount', 'switchyard-data-plane') as {
        automountServiceAccountToken?: boolean;
      }
    ).automountServiceAccountToken,
    false,
  );
});

test('executor.mode=deployment: its own Deployment behind a headless Service, the control plane told where', async () => {
  const objects = await renderChart(release, namespace, variants.executorDeployment);
  assertHardened(objects);
  const controller = containerOf(podOf(objects, 'switchyard-controller'), 'controller');
  assert.deepEqual(controller.args?.slice(8), [
    '--listen-address=0.0.0.0',
    '--listen-port=10000',
    '--hop-port=10001',
    '--executor-workers=3',
    '--hop-address=0.0.0.0',
    '--executor-address=switchyard-executor.switchyard.svc.cluster.local',
    '--executor-port=18081',
  ]);
  assert.ok(!controller.args.some((arg) => arg.startsWith('--sockets')));
  const executorDeployment = find(objects, 'Deployment', 'switchyard-executor') as {
    spec: { replicas: number };
  };
  assert.equal(executorDeployment.spec.replicas, 3);
  const executorPod = podOf(objects, 'switchyard-executor');
  assert.equal(executorPod.automountServiceAccountToken, false);
  const executor = containerOf(executorPod, 'executor');
  assert.deepEqual(executor.args, [
    'executor',
    '--address=0.0.0.0',
    '--port=18081',
    '--workers=3',
    '--hop-url=http://switchyard-hops.switchyard.svc.cluster.local:10001',
    '--xds-address=switchyard-controller.switchyard.svc.cluster.local',
    '--xds-port=18000',
    '--node-cluster=switchyard',
  ]);
  assert.deepEqual(executor.ports, [
    { name: 'worker-0', containerPort: 18081 },
    { name: 'worker-1', containerPort: 18082 },
    { name: 'worker-2', containerPort: 18083 },
  ]);
  assert.deepEqual(executor.readinessProbe?.tcpSocket, { port: 'worker-0' });
  const headless = find(objects, 'Service', 'switchyard-executor') as {
    spec: { clusterIP: string; ports: { port: number; targetPort: string }[] };
  };
  assert.equal(headless.spec.clusterIP, 'None');
  assert.deepEqual(
    headless.spec.ports.map(({ port, targetPort }) => [port, targetPort]),
    [
      [18081, 'worker-0'],
      [18082, 'worker-1'],
      [18083, 'worker-2'],
    ],
  );
  const gateway = podOf(objects, 'switchyard-gateway');
  assert.deepEqual(
    gateway.containers.map((container) => container.name),
    ['envoy'],
    'no executor in the gateway pod',
  );
  assert.ok(!gateway.volumes?.some((volume) => volume.name === 'sockets'));
  assert.deepEqual(
    containerOf(gateway, 'envoy').ports?.find((port) => port.name === 'hops'),
    { name: 'hops', containerPort: 10001 },
  );
  const hops = find(objects, 'Service', 'switchyard-hops') as {
    spec: { ports: { port: number; targetPort: string }[] };
  };
  assert.deepEqual(
    hops.spec.ports.map(({ port, targetPort }) => [port, targetPort]),
    [[10001, 'hops']],
  );
  find(objects, 'PodDisruptionBudget', 'switchyard-executor');
});

test('controller.namespaces: a Role in each listed namespace and no ClusterRole; replicas as given', async () => {
  const objects = await renderChart(release, namespace, variants.scoped);
  assertHardened(objects);
  assert.deepEqual(
    names(objects).filter((name) => /^(Cluster)?Role/.test(name)),
    [
      'Role ml/switchyard-controller',
      'Role switchyard/switchyard-leader-election',
      'Role team-b/switchyard-controller',
      'RoleBinding ml/switchyard-controller',
      'RoleBinding switchyard/switchyard-leader-election',
      'RoleBinding team-b/switchyard-controller',
    ],
  );
  const controller = containerOf(podOf(objects, 'switchyard-controller'), 'controller');
  assert.equal(controller.args?.[2], '--namespaces=ml,team-b');
  assert.equal(
    (find(objects, 'Deployment', 'switchyard-controller').spec as { replicas: number }).replicas,
    3,
  );
  assert.equal(
    (find(objects, 'Deployment', 'switchyard-gateway').spec as { replicas: number }).replicas,
    4,
  );
});

test('the gateway Service type, its node port and delta xDS follow the values', async () => {
  const objects = await renderChart(release, namespace, variants.exposed);
  const service = find(objects, 'Service', 'switchyard-gateway') as {
    spec: { type: string; ports: { nodePort?: number }[] };
  };
  assert.equal(service.spec.type, 'LoadBalancer');
  assert.equal(service.spec.ports[0]?.nodePort, 30080);
  assert.ok(
    containerOf(podOf(objects, 'switchyard-gateway'), 'bootstrap').args?.includes('--delta'),
  );
});

test('controller.statusToken.existingSecret: the control plane reads the token of that Secret, and the chart makes none', async () => {
  const objects = await renderChart(release, namespace, {
    'controller.statusToken.existingSecret': 'ops-status-token',
    'controller.statusToken.key': 'bearer',
  });
  assert.ok(!objects.some((object) => object.kind === 'Secret'));
  const controlPlane = podOf(objects, 'switchyard-controller');
  assert.ok(
    containerOf(controlPlane, 'controller').args?.includes(
      `--status-token-file=${statusTokenDir}/token`,
    ),
  );
  assert.deepEqual(controlPlane.volumes?.[0]?.secret, {
    secretName: 'ops-status-token',
    items: [{ key: 'bearer', path: 'token' }],
    defaultMode: 0o440,
  });
});

test('xdsTls: the control plane serves xDS with its Secret and asks for client certificates; the bootstrap points Envoy at its own', async () => {
  const objects = await renderChart(release, namespace, variants.mutualTls);
  assertHardened(objects);
  const server = '/var/run/secrets/switchyard/xds-server';
  const client = '/var/run/secrets/switchyard/xds-client';
  const controlPlane = podOf(objects, 'switchyard-controller');
  const controller = containerOf(controlPlane, 'controller');
  assert.deepEqual(
    controller.args?.filter((arg) => arg.startsWith('--xds-')),
    [
      '--xds-address=0.0.0.0',
      '--xds-port=18000',
      `--xds-tls-cert=${server}/tls.crt`,
      `--xds-tls-key=${server}/tls.key`,
      `--xds-client-ca=${server}/ca.crt`,
    ],
  );
  assert.deepEqual(
    controller.volumeMounts?.find((mount) => mount.name === 'xds-tls'),
    { name: 'xds-tls', mountPath: server, readOnly: true },
  );
  assert.deepEqual(controlPlane.volumes?.find((volume) => volume.name === 'xds-tls')?.secret, {
    secretName: 'xds-server',
    defaultMode: 0o440,
  });
  const gateway = podOf(objects, 'switchyard-gateway');
  assert.deepEqual(containerOf(gateway, 'bootstrap').args?.slice(-5), [
    `--xds-tls-ca=${client}/ca.crt`,
    `--xds-tls-cert=${client}/tls.crt`,
    `--xds-tls-key=${client}/tls.key`,
    '--sds-dir=/etc/switchyard/sds',
    '--output=/etc/switchyard/bootstrap.json',
  ]);
  // Envoy reads the certificate files itself, through the SDS files.
  assert.deepEqual(
    containerOf(gateway, 'envoy').volumeMounts?.find((mount) => mount.name === 'xds-tls'),
    { name: 'xds-tls', mountPath: client, readOnly: true },
  );
  assert.deepEqual(gateway.volumes?.find((volume) => volume.name === 'xds-tls')?.secret, {
    secretName: 'xds-client',
    defaultMode: 0o440,
  });
});

test('values.schema.json refuses bad values: helm template fails and says which', async () => {
  for (const [set, problem] of [
    [{ 'executor.mode': 'nearby' }, /executor\/mode.*one of 'sidecar', 'deployment'/],
    [{ 'controller.replicas': 0 }, /controller\/replicas/],
    [{ 'controller.replicas': 'two' }, /controller\/replicas.*want integer/],
    [{ 'gateway.service.type': 'Ingress' }, /gateway\/service\/type/],
    [{ 'controller.namespaces': '{Team_B}' }, /controller\/namespaces\/0/],
    [{ 'executor.workers': 0 }, /executor\/workers/],
    [{ 'image.pullPolicy': 'Sometimes' }, /image\/pullPolicy/],
    [{ 'gatway.replicas': 2 }, /additional properties 'gatway' not allowed/],
    [{ 'gateway.envoy.readyPort': 70000 }, /gateway\/envoy\/readyPort/],
    [{ 'controller.statusToken.existingSecret': 'Not_A_Name' }, /statusToken\/existingSecret/],
    [{ 'xdsTls.enabled': true }, /xdsTls\/serverSecret/],
  ] as const) {
    await assert.rejects(
      runHelm(['template', release, chartDir, ...setArgs(set)]),
      (error: Error) => {
        assert.match(error.message, problem);
        return true;
      },
      JSON.stringify(set),
    );
  }
});

test('the rendered chart of every setup passes the API server’s validation (server-side dry run)', async () => {
  await createNamespaces('switchyard', 'ml', 'team-b');
  for (const set of Object.values(variants)) {
    const objects = await renderChart(release, namespace, set);
    const applied = await cluster.apply(objects, { dryRun: true });
    assert.equal(applied.length, objects.length);
  }
  // Nothing was stored.
  await assert.rejects(
    cluster.kubeConfig
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace, name: 'switchyard-controller' }),
    (error: ApiException<unknown>) => error.code === 404,
  );
});

// ---- Installed for real: helm install, the RBAC it grants, upgrade, uninstall.

interface Access {
  readonly verb: string;
  readonly resource: string;
  readonly group?: string;
  readonly subresource?: string;
  readonly namespace?: string | undefined;
  readonly name?: string;
}

function describe(access: Access): string {
  const what = `${access.group ? `${access.group}/` : ''}${access.resource}${access.subresource ? `/${access.subresource}` : ''}`;
  return `${access.verb} ${what}${access.name ? ` ${access.name}` : ''} in ${access.namespace ?? 'every namespace'}`;
}

async function may(config: KubeConfig, access: Access): Promise<boolean> {
  const attributes = new V1ResourceAttributes();
  attributes.verb = access.verb;
  attributes.resource = access.resource;
  attributes.group = access.group ?? '';
  if (access.subresource !== undefined) attributes.subresource = access.subresource;
  if (access.namespace !== undefined) attributes.namespace = access.namespace;
  if (access.name !== undefined) attributes.name = access.name;
  const body = new V1SelfSubjectAccessReview();
  body.spec = new V1SelfSubjectAccessReviewSpec();
  body.spec.resourceAttributes = attributes;
  const review = await config
    .makeApiClient(AuthorizationV1Api)
    .createSelfSubjectAccessReview({ body });
  return review.status?.allowed === true;
}

/** What the control plane's ServiceAccount may and may not do, asked as that ServiceAccount. */
async function assertAccess(
  config: KubeConfig,
  allowed: readonly Access[],
  denied: readonly Access[],
): Promise<void> {
  const [first] = allowed;
  // RBAC reads bindings from its informer cache: a new grant takes a moment.
  if (first)
    await waitFor(
      'the grant to take effect',
      async () => ((await may(config, first)) ? true : undefined),
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
  const wrong: string[] = [];
  for (const access of allowed)
    if (!(await may(config, access))) wrong.push(`may not ${describe(access)}`);
  for (const access of denied) if (await may(config, access)) wrong.push(`may ${describe(access)}`);
  assert.deepEqual(wrong, []);
}

const IG = { group: 'switchyard.io', resource: 'inferencegraphs' } as const;
const LEASES = { group: 'coordination.k8s.io', resource: 'leases' } as const;

/** What the control plane must never do, wherever it runs. */
function forbidden(home: string, watched: string): Access[] {
  return [
    ...['create', 'update', 'patch', 'delete', 'deletecollection'].map((verb) => ({
      ...IG,
      verb,
      namespace: watched,
    })),
    { verb: 'create', resource: 'pods', namespace: watched },
    { verb: 'create', resource: 'pods', namespace: home },
    { verb: 'list', resource: 'pods', namespace: watched },
    { verb: 'get', resource: 'secrets', namespace: home },
    { verb: 'list', resource: 'secrets', namespace: watched },
    { verb: 'list', resource: 'secrets' },
    { verb: 'get', resource: 'configmaps', namespace: watched },
    ...['create', 'update', 'patch', 'delete'].flatMap((verb) => [
      { verb, resource: 'services', namespace: watched },
      { verb, group: 'discovery.k8s.io', resource: 'endpointslices', namespace: watched },
      { verb, group: 'gateway.networking.k8s.io', resource: 'referencegrants', namespace: watched },
    ]),
    { verb: 'delete', resource: 'events', namespace: watched },
    { ...LEASES, verb: 'create', namespace: 'kube-system' },
    { ...LEASES, verb: 'update', namespace: 'kube-system', name: 'switchyard-controller' },
    { ...LEASES, verb: 'update', namespace: home, name: 'another-controller' },
    { ...LEASES, verb: 'delete', namespace: home, name: 'switchyard-controller' },
    { ...LEASES, verb: 'list', namespace: home },
    { verb: 'list', resource: 'namespaces' },
    { verb: 'list', resource: 'nodes' },
    { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    {
      verb: 'create',
      group: 'rbac.authorization.k8s.io',
      resource: 'rolebindings',
      namespace: home,
    },
    { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: home },
    { verb: 'impersonate', resource: 'serviceaccounts', namespace: home },
  ];
}

/** What it needs in a watched namespace (and its own, for the Lease). */
function needed(home: string, watched: string | undefined): Access[] {
  return [
    ...['get', 'list', 'watch'].flatMap((verb) => [
      { ...IG, verb, namespace: watched },
      { verb, resource: 'services', namespace: watched },
      { verb, group: 'discovery.k8s.io', resource: 'endpointslices', namespace: watched },
      { verb, group: 'gateway.networking.k8s.io', resource: 'referencegrants', namespace: watched },
    ]),
    ...['get', 'update', 'patch'].map((verb) => ({
      ...IG,
      verb,
      subresource: 'status',
      namespace: watched,
    })),
    { verb: 'create', resource: 'events', namespace: watched ?? home },
    { verb: 'patch', resource: 'events', namespace: watched ?? home },
    { ...LEASES, verb: 'create', namespace: home },
    { ...LEASES, verb: 'get', namespace: home, name: 'switchyard-controller' },
    { ...LEASES, verb: 'update', namespace: home, name: 'switchyard-controller' },
  ];
}

test('helm install: the release is created, and the control plane’s ServiceAccount may do what it needs and nothing else', async () => {
  await runHelm(['install', release, chartDir, '--namespace', namespace, '--create-namespace'], {
    kubeconfig: cluster.kubeconfigPath,
  });
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const controller = await apps.readNamespacedDeployment({
    namespace,
    name: 'switchyard-controller',
  });
  assert.equal(controller.spec?.replicas, 2);
  const asController = await cluster.kubeConfigForServiceAccount(
    namespace,
    'switchyard-controller',
  );
  await assertAccess(
    asController,
    [...needed(namespace, undefined), ...needed(namespace, 'ml')],
    forbidden(namespace, 'ml'),
  );
  // Envoy and the executor call no API at all.
  const asDataPlane = await cluster.kubeConfigForServiceAccount(namespace, 'switchyard-data-plane');
  await assertAccess(
    asDataPlane,
    [],
    [...needed(namespace, undefined), ...needed(namespace, 'ml')],
  );
});

test('helm install with controller.namespaces: the ServiceAccount reads only the listed namespaces', async () => {
  const home = 'switchyard-scoped';
  await createNamespaces('ml');
  await runHelm(
    [
      'install',
      'scoped',
      chartDir,
      '--namespace',
      home,
      '--create-namespace',
      '--set',
      'controller.namespaces={ml}',
    ],
    { kubeconfig: cluster.kubeconfigPath },
  );
  const asController = await cluster.kubeConfigForServiceAccount(
    home,
    'scoped-switchyard-controller',
  );
  await assertAccess(asController, needed(home, 'ml'), [
    ...forbidden(home, 'ml'),
    ...needed(home, 'team-b').filter((access) => access.resource !== 'leases'),
    // Not every namespace: a list or watch across them is refused.
    { ...IG, verb: 'list' },
    { ...IG, verb: 'watch' },
    { verb: 'list', resource: 'services' },
    // Nor the Lease of the release in the other namespace.
    { ...LEASES, verb: 'update', namespace, name: 'switchyard-controller' },
  ]);
  await runHelm(['uninstall', 'scoped', '--namespace', home], {
    kubeconfig: cluster.kubeconfigPath,
  });
});

test('helm upgrade changes the release and keeps its status token; helm uninstall removes all of it, the cluster-wide RBAC too', async () => {
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const statusToken = async (): Promise<string | undefined> =>
    (await core.readNamespacedSecret({ namespace, name: 'switchyard-status-token' })).data?.token;
  const installed = await statusToken();
  assert.ok(installed);
  await runHelm(
    [
      'upgrade',
      release,
      chartDir,
      '--namespace',
      namespace,
      '--reuse-values',
      '--set',
      'gateway.replicas=3',
    ],
    { kubeconfig: cluster.kubeconfigPath },
  );
  const gateway = await apps.readNamespacedDeployment({ namespace, name: 'switchyard-gateway' });
  assert.equal(gateway.spec?.replicas, 3);
  assert.equal(await statusToken(), installed, 'the token survives the upgrade');
  await runHelm(['uninstall', release, '--namespace', namespace], {
    kubeconfig: cluster.kubeconfigPath,
  });
  const gone = (call: () => Promise<unknown>) =>
    assert.rejects(call, (error: ApiException<unknown>) => error.code === 404);
  await gone(() => apps.readNamespacedDeployment({ namespace, name: 'switchyard-gateway' }));
  await gone(() => apps.readNamespacedDeployment({ namespace, name: 'switchyard-controller' }));
  await gone(() => core.readNamespacedSecret({ namespace, name: 'switchyard-status-token' }));
  await gone(() =>
    cluster.kubeConfig
      .makeApiClient(RbacAuthorizationV1Api)
      .readClusterRole({ name: 'switchyard-controller' }),
  );
});

test('the examples (Istio Gateway + VirtualService; Gateway API HTTPRoute) pass validation against the real CRDs', async () => {
  await cluster.apply(await readFile(gatewayApiStandardInstall(), 'utf8'));
  await cluster.apply(await readFile(istioCrds(), 'utf8'));
  for (const crd of [
    'gateways.gateway.networking.k8s.io',
    'httproutes.gateway.networking.k8s.io',
    'gateways.networking.istio.io',
    'virtualservices.networking.istio.io',
  ])
    await cluster.waitForCrdEstablished(crd);
  await createNamespaces('switchyard', 'gateway-infra');
  const examples = join(chartDir, 'examples');
  for (const file of ['istio-ingress.yaml', 'gateway-api.yaml']) {
    const text = await readFile(join(examples, file), 'utf8');
    const objects = parseAllDocuments(text).map((document) => document.toJSON() as Rendered);
    const applied = await cluster.apply(objects, { dryRun: true });
    assert.deepEqual(
      applied.map((object) => `${object.kind ?? ''} ${object.metadata?.name ?? ''}`),
      objects.map((object) => `${object.kind ?? ''} ${object.metadata?.name ?? ''}`),
      file,
    );
  }
  // The dry run validates: the same objects, broken, are refused by the CRDs' schemas.
  const route = parseAllDocuments(await readFile(join(examples, 'gateway-api.yaml'), 'utf8'))
    .map((document) => document.toJSON() as Rendered)
    .find((object) => object.kind === 'HTTPRoute') as Rendered & {
    spec: { rules: { backendRefs: { port?: number }[] }[] };
  };
  delete route.spec.rules[0]?.backendRefs[0]?.port;
  await assert.rejects(
    cluster.apply([route], { dryRun: true }),
    /Must have port for Service reference/,
  );
  const virtualService = parseAllDocuments(
    await readFile(join(examples, 'istio-ingress.yaml'), 'utf8'),
  )
    .map((document) => document.toJSON() as Rendered)
    .find((object) => object.kind === 'VirtualService') as Rendered & {
    spec: { http: { retries: { attempts: unknown } }[] };
  };
  const broken = structuredClone(virtualService);
  (broken.spec.http[0] as { retries: { attempts: unknown } }).retries.attempts = 'never';
  await assert.rejects(cluster.apply([broken], { dryRun: true }), /attempts/);
});
