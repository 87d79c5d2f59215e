import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { resolveEnvoy } from '../../src/runtime/envoy-binary.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { containerOf, podOf, renderChart, type Container } from './chart.ts';
import { freePort, freePortRun } from './ports.ts';
import { projectSecret } from './secret-volume.ts';
import { startServerProcess, waitFor, type ServerProcess } from './server-process.ts';
import { makeTestCa } from './test-pki.ts';

/**
 * The chart's containers, run as they are rendered: the bootstrap init container's
 * `switchyard bootstrap`, Envoy with its flags on that bootstrap, the executor, and the control
 * plane told the same about where they meet, as processes on this host. What a pod gives them
 * is mapped to it: the emptyDirs to folders of a temporary directory, Services' DNS names and
 * 0.0.0.0 to loopback (tests bind nothing else), the downward API's variables to values. A
 * request through Envoy's listener then runs a graph whose steps go through the executor.
 */
export interface SwitchyardLauncher {
  /** Runs a Switchyard container, with its arguments as on this host, to its end (the init container). */
  runToEnd(container: Container, args: readonly string[]): Promise<void>;
  /** Starts a Switchyard container with its arguments as on this host (the control plane, the executor). */
  start(container: Container, args: readonly string[]): ServerProcess;
}

const release = 'switchyard';
const namespace = 'switchyard';

/** What the pod gives a container, as it is on this host. */
function onThisHost(dir: string): (arg: string) => string {
  return (arg) =>
    arg
      .replaceAll(/[a-z0-9-]+\.switchyard\.svc\.cluster\.local/g, '127.0.0.1')
      .replaceAll('0.0.0.0', '127.0.0.1')
      .replaceAll('/var/run/switchyard', join(dir, 'sockets'))
      .replaceAll('/etc/switchyard', join(dir, 'bootstrap'))
      .replaceAll('/var/run/secrets/switchyard/status-token', join(dir, 'status-token'))
      .replaceAll('/var/run/secrets/switchyard/xds-server', join(dir, 'xds-server'))
      .replaceAll('/var/run/secrets/switchyard/xds-client', join(dir, 'xds-client'))
      .replaceAll('$(POD_NAME)', 'switchyard-gateway-0')
      .replaceAll('$(POD_NAMESPACE)', namespace);
}

function argsOf(container: Container, local: (arg: string) => string): string[] {
  return (container.args ?? []).map(local);
}

async function get(url: string): Promise<number> {
  const response = await request(url);
  await response.body.text();
  return response.statusCode;
}

function graphYaml(prepare: SampleModel, v1: SampleModel, v2: SampleModel): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: scored }
spec:
  entry: prepare
  timeout: 5s
  nodes:
    prepare:
      kind: transformer
      model: prepare
      to: both
      endpoint: { addresses: ['127.0.0.1:${String(prepare.port)}'] }
    both: { kind: ensemble, children: [current, candidate], combine: mean }
    current:
      kind: model
      model: fraud-v1
      endpoint: { addresses: ['127.0.0.1:${String(v1.port)}'] }
    candidate:
      kind: model
      model: fraud-v2
      endpoint: { addresses: ['127.0.0.1:${String(v2.port)}'] }
`;
}

/**
 * The two Secret volumes of `xdsTls`, as cert-manager would fill them and the kubelet project
 * them: the control plane's server certificate (for the address its Service name becomes here)
 * with the client CA, and the gateway's client certificate naming its group with the server CA.
 */
async function writeXdsTlsSecrets(dir: string): Promise<void> {
  await mkdir(join(dir, 'pki'));
  const ca = await makeTestCa(join(dir, 'pki'));
  const server = await ca.issue('xds-server', {
    commonName: 'switchyard-controller',
    hosts: ['127.0.0.1'],
    usage: 'server',
  });
  const client = await ca.issue('xds-client', {
    commonName: 'switchyard-gateway',
    uris: ['spiffe://cluster.local/switchyard/group/switchyard'],
    usage: 'client',
  });
  for (const [folder, pair] of [
    ['xds-server', server],
    ['xds-client', client],
  ] as const)
    projectSecret(join(dir, folder), {
      'tls.crt': pair.cert,
      'tls.key': pair.key,
      'ca.crt': ca.cert,
    });
}

/**
 * Renders the chart with `set` (and free ports), runs its containers through the launcher the
 * folder gets, and has a graph answer through Envoy and the executor; stops everything after.
 */
export async function serveThroughRenderedPods(
  set: Readonly<Record<string, string | number | boolean>>,
  launcherFor: (dir: string) => SwitchyardLauncher,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-pod-'));
  const servers: ServerProcess[] = [];
  const models: SampleModel[] = [];
  try {
    // The pod's emptyDirs, and the folder of graphs: writable by the containers' user.
    for (const folder of ['bootstrap', 'sockets', 'graphs', 'status-token'])
      await mkdir(join(dir, folder));
    for (const folder of [dir, join(dir, 'bootstrap'), join(dir, 'sockets')])
      await chmod(folder, 0o777);
    // The Secret volume of the status token, as the kubelet mounts it (0440, the pod's group).
    const statusToken = 'a-token-for-this-test-only';
    await writeFile(join(dir, 'status-token', 'token'), statusToken, { mode: 0o444 });
    if (set['xdsTls.enabled'] === true) await writeXdsTlsSecrets(dir);
    const graphs = join(dir, 'graphs');
    const workers = 2;
    const ports = {
      'controller.xdsPort': await freePort(),
      'controller.statusPort': await freePort(),
      'gateway.envoy.listenPort': await freePort(),
      'gateway.envoy.hopPort': await freePort(),
      'gateway.envoy.adminPort': await freePort(),
      'gateway.envoy.readyPort': await freePort(),
      'executor.port': await freePortRun(workers),
      'executor.workers': workers,
    };
    const objects = await renderChart(release, namespace, { ...ports, ...set });
    const local = onThisHost(dir);
    const launcher = launcherFor(dir);

    const prepare = await startSampleModel({ name: 'prepare', role: 'transformer', offset: 1 });
    const v1 = await startSampleModel({ name: 'fraud-v1', scale: 1 });
    const v2 = await startSampleModel({ name: 'fraud-v2', scale: 3 });
    models.push(prepare, v1, v2);
    await writeFile(join(graphs, 'scored.yaml'), graphYaml(prepare, v1, v2));

    // The control plane with the flags the chart gives it about the data plane; it reads this
    // graph from a folder instead of the API server (the flags that say so left out).
    const controller = containerOf(podOf(objects, 'switchyard-controller'), 'controller');
    const kubernetesOnly = /^--(kubernetes|namespaces=|leader-election-namespace=)/;
    const controlPlane = launcher.start(controller, [
      ...argsOf(controller, local).filter((arg) => !kubernetesOnly.test(arg)),
      `--graphs=${graphs}`,
    ]);
    servers.push(controlPlane);

    // The gateway pod: the init container first, then Envoy on what it wrote.
    const gateway = podOf(objects, 'switchyard-gateway');
    const bootstrap = containerOf(gateway, 'bootstrap');
    await launcher.runToEnd(bootstrap, argsOf(bootstrap, local));
    if (set['xdsTls.enabled'] === true) {
      // Mutual TLS on both ends: the server asks for a client certificate from its CA, and
      // Envoy's xDS cluster speaks TLS with its own.
      assert.ok(controller.args?.some((arg) => arg.startsWith('--xds-client-ca=')));
      const written = JSON.parse(
        await readFile(join(dir, 'bootstrap', 'bootstrap.json'), 'utf8'),
      ) as { static_resources: { clusters: { name: string; transport_socket?: unknown }[] } };
      const xds = written.static_resources.clusters.find(
        (cluster) => cluster.name === 'switchyard_xds',
      );
      assert.ok(xds?.transport_socket, "Envoy's xDS cluster speaks TLS");
    }
    const envoyContainer = containerOf(gateway, 'envoy');
    assert.deepEqual(envoyContainer.command, ['/usr/local/bin/envoy']);
    const envoy = startServerProcess(
      'envoy',
      (await resolveEnvoy()).path,
      argsOf(envoyContainer, local),
    );
    servers.push(envoy);

    // The executor: beside Envoy, or its own Deployment.
    const executorContainer =
      set['executor.mode'] === 'deployment'
        ? containerOf(podOf(objects, 'switchyard-executor'), 'executor')
        : containerOf(gateway, 'executor');
    const executor = launcher.start(executorContainer, argsOf(executorContainer, local));
    servers.push(executor);

    const processes = [controlPlane, envoy, executor];
    const ready = `http://127.0.0.1:${String(ports['gateway.envoy.readyPort'])}/ready`;
    await waitFor(
      "Envoy's readiness, on the port its probes use",
      async () => ((await get(ready)) === 200 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200, processes },
    );
    const answer = await waitFor(
      'the graph to answer through Envoy and the executor',
      async () => {
        const response = await request(
          `http://127.0.0.1:${String(ports['gateway.envoy.listenPort'])}/v2/models/scored/infer`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              inputs: [{ name: 'x', shape: [2], datatype: 'FP64', data: [1, 2] }],
            }),
          },
        );
        const text = await response.body.text();
        return response.statusCode === 200 ? text : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, processes },
    );
    // The control plane reads the token the chart mounts: GET /status needs it.
    const status = `http://127.0.0.1:${String(ports['controller.statusPort'])}/status`;
    assert.equal(await get(status), 401);
    const withToken = await request(status, {
      headers: { authorization: `Bearer ${statusToken}` },
    });
    assert.equal(withToken.statusCode, 200);
    await withToken.body.text();
    // prepare adds 1: [2, 3]; fraud-v1 × 1 and fraud-v2 × 3, averaged: [4, 6].
    const outputs = (JSON.parse(answer) as { outputs: { data: number[] }[] }).outputs;
    assert.deepEqual(outputs[0]?.data, [4, 6]);
    for (const model of models) assert.ok(model.requests.length > 0, `${model.name} was called`);
  } finally {
    for (const server of servers.reverse()) await server.stop();
    for (const model of models) await model.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
