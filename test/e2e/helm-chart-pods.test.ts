import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { request } from 'undici';
import { resolveEnvoy } from '../../src/runtime/envoy-binary.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { containerOf, podOf, renderChart, type Container } from '../support/chart.ts';
import { freePort, freePortRun } from '../support/ports.ts';
import { startServerProcess, waitFor, type ServerProcess } from '../support/server-process.ts';

/**
 * The chart's containers, run as they are rendered: the bootstrap init container's
 * `switchyard bootstrap`, Envoy with its flags on that bootstrap, the executor, and the control
 * plane told the same about where they meet, as processes on this host. What a pod gives them
 * is mapped to it: the emptyDirs to temporary folders, Services' DNS names and 0.0.0.0 to
 * loopback (tests bind nothing else), the downward API's variables to values. A request through
 * Envoy's listener then runs a graph whose steps go through the executor: the flags of every
 * container agree, in both executor modes.
 */
const run = promisify(execFile);
const release = 'switchyard';
const namespace = 'switchyard';
const cli = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

const running: ServerProcess[] = [];
const models: SampleModel[] = [];
const folders: string[] = [];

after(async () => {
  for (const server of running.reverse()) await server.stop();
  for (const model of models) await model.stop();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** What the pod gives a container, as it is on this host. */
function onThisHost(dir: string): (arg: string) => string {
  return (arg) =>
    arg
      .replaceAll(/[a-z0-9-]+\.switchyard\.svc\.cluster\.local/g, '127.0.0.1')
      .replaceAll('0.0.0.0', '127.0.0.1')
      .replaceAll('/var/run/switchyard', join(dir, 'sockets'))
      .replaceAll('/etc/switchyard', join(dir, 'bootstrap'))
      .replaceAll('$(POD_NAME)', 'switchyard-gateway-0')
      .replaceAll('$(POD_NAMESPACE)', namespace);
}

function argsOf(container: Container, local: (arg: string) => string): string[] {
  return (container.args ?? []).map(local);
}

/** The Switchyard image's entry point (bin/switchyard.js) runs the CLI: here, from the sources. */
function startSwitchyard(name: string, args: readonly string[]): ServerProcess {
  const server = startServerProcess(name, process.execPath, ['--import', 'tsx', cli, ...args]);
  running.push(server);
  return server;
}

async function get(url: string): Promise<number> {
  const response = await request(url);
  await response.body.text();
  return response.statusCode;
}

async function runRenderedPods(set: Readonly<Record<string, string | number>>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-pod-'));
  folders.push(dir);
  // The pod's emptyDirs.
  await mkdir(join(dir, 'bootstrap'));
  await mkdir(join(dir, 'sockets'));
  const graphs = join(dir, 'graphs');
  await mkdir(graphs);
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

  const prepare = await startSampleModel({ name: 'prepare', role: 'transformer', offset: 1 });
  const v1 = await startSampleModel({ name: 'fraud-v1', scale: 1 });
  const v2 = await startSampleModel({ name: 'fraud-v2', scale: 3 });
  models.push(prepare, v1, v2);
  await writeFile(
    join(graphs, 'scored.yaml'),
    `apiVersion: switchyard.io/v1alpha1
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
`,
  );

  // The control plane with the flags the chart gives it about the data plane; it reads this
  // graph from a folder instead of the API server (the flags that say so left out).
  const controller = containerOf(podOf(objects, 'switchyard-controller'), 'controller');
  const kubernetesOnly = /^--(kubernetes|namespaces=|leader-election-namespace=)/;
  const controlPlane = startSwitchyard('control plane', [
    ...argsOf(controller, local).filter((arg) => !kubernetesOnly.test(arg)),
    `--graphs=${graphs}`,
  ]);

  // The gateway pod: the init container first, then Envoy on what it wrote.
  const gateway = podOf(objects, 'switchyard-gateway');
  await run(process.execPath, [
    '--import',
    'tsx',
    cli,
    ...argsOf(containerOf(gateway, 'bootstrap'), local),
  ]);
  const envoyContainer = containerOf(gateway, 'envoy');
  assert.deepEqual(envoyContainer.command, ['/usr/local/bin/envoy']);
  const envoy = startServerProcess('envoy', (await resolveEnvoy()).path, [
    ...argsOf(envoyContainer, local),
  ]);
  running.push(envoy);

  // The executor: beside Envoy, or its own Deployment.
  const executorContainer =
    set['executor.mode'] === 'deployment'
      ? containerOf(podOf(objects, 'switchyard-executor'), 'executor')
      : containerOf(gateway, 'executor');
  const executor = startSwitchyard('executor', argsOf(executorContainer, local));

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
  // prepare adds 1: [2, 3]; fraud-v1 × 1 and fraud-v2 × 3, averaged: [4, 6].
  const outputs = (JSON.parse(answer) as { outputs: { data: number[] }[] }).outputs;
  assert.deepEqual(outputs[0]?.data, [4, 6]);
  assert.ok(v1.requests.length > 0 && v2.requests.length > 0 && prepare.requests.length > 0);
}

test('the rendered gateway pod (bootstrap, Envoy, the executor beside it on Unix sockets) serves a graph', async () => {
  await runRenderedPods({});
});

test('with executor.mode=deployment, the rendered executor, reached over TCP, serves a graph through the hop listener', async () => {
  await runRenderedPods({ 'executor.mode': 'deployment' });
});
