import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

/**
 * Three Envoys of two node groups, one of them on delta xDS: each group gets
 * its own graphs, and a change reaches exactly the Envoys of its group.
 */
describe('a fleet of Envoys in two node groups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-fleet-'));
  const mainDir = join(dir, 'main');
  const canaryDir = join(dir, 'canary');
  const models: SampleModel[] = [];
  const envoys: { envoy: RunningEnvoy; group: string }[] = [];
  let controlPlane: ControlPlane;

  const writeGraph = (graphDir: string, model: SampleModel) => {
    writeFileSync(
      join(graphDir, 'g.yaml'),
      `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: g
spec:
  entry: m
  nodes:
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:${String(model.port)}"] } }
`,
    );
  };

  before(async () => {
    mkdirSync(mainDir);
    mkdirSync(canaryDir);
    for (const version of ['main', 'canary', 'main-2'])
      models.push(await startSampleModel({ name: 'm', version }));
    const [main, canary] = models;
    assert.ok(main && canary);
    writeGraph(mainDir, main);
    writeGraph(canaryDir, canary);
    const listenerPort = await freePort();
    controlPlane = await startControlPlane({
      graphsDir: mainDir,
      groups: new Map([['canary', canaryDir]]),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      listener: {
        address: '127.0.0.1',
        port: listenerPort,
        hopPort: await freePort(),
        executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
      },
    });
    // In a real fleet each Envoy has a host of its own; here they share one, and the
    // listener (reuse_port) too, so what each Envoy runs is read from its config_dump.
    for (const [index, group] of ['switchyard', 'switchyard', 'canary'].entries()) {
      const envoy = await startEnvoyProcess({
        bootstrap: bootstrapConfig({
          nodeId: `fleet-${String(index)}`,
          nodeCluster: group,
          xdsAddress: '127.0.0.1',
          xdsPort: controlPlane.xdsPort,
          adminPort: await freePort(),
          delta: index === 1,
        }),
        name: `fleet-${String(index)}`,
      });
      envoys.push({ envoy, group });
    }
  });

  /** A canary Envoy whose xDS connection runs through a proxy the test can cut. */
  async function canaryEnvoyBehindProxy(name: string) {
    const proxy = await startTcpProxy(controlPlane.xdsPort);
    const envoy = await startEnvoyProcess({
      bootstrap: bootstrapConfig({
        nodeId: name,
        nodeCluster: 'canary',
        xdsAddress: '127.0.0.1',
        xdsPort: proxy.port,
        adminPort: await freePort(),
      }),
      name,
    });
    return { proxy, envoy };
  }

  after(async () => {
    await Promise.all(envoys.map(({ envoy }) => envoy.stop()));
    await controlPlane.stop();
    await Promise.all(models.map((m) => m.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('each group gets its own view; a change reaches only its group', async () => {
    const status = () => controlPlane.status();
    await waitFor(
      'all three Envoys to run their graphs',
      () =>
        status().graphs.every((g) => g.programmedOn === g.envoys) && status().envoys.length === 3,
    );
    assert.deepEqual(
      status().graphs.map((g) => [g.group, g.programmedOn, g.envoys]),
      [
        ['switchyard', 2, 2],
        ['canary', 1, 1],
      ],
    );
    const [, canary, main2] = models;
    assert.ok(canary && main2);
    writeGraph(mainDir, main2);
    const endpointsOf = async (index: number) =>
      JSON.stringify(await envoys[index]?.envoy.configDump('dynamic_endpoint_configs'));
    await waitFor('both main Envoys to run the new endpoint', async () => {
      const [first, second] = await Promise.all([endpointsOf(0), endpointsOf(1)]);
      return first.includes(String(main2.port)) && second.includes(String(main2.port));
    });
    const canaryEndpoints = await endpointsOf(2);
    assert.ok(
      canaryEndpoints.includes(String(canary.port)),
      'the canary Envoy keeps its own graph',
    );
    assert.ok(!canaryEndpoints.includes(String(main2.port)));
    await waitFor('status to say so', () =>
      status().graphs.every((g) => g.programmedOn === g.envoys),
    );
  });

  test('a restarted Envoy converges to the current config', async () => {
    const restarted = envoys[0];
    assert.ok(restarted);
    const bootstrap = bootstrapConfig({
      nodeId: 'fleet-0',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: controlPlane.xdsPort,
      adminPort: await freePort(),
    });
    await restarted.envoy.stop();
    restarted.envoy = await startEnvoyProcess({ bootstrap, name: 'fleet-0-again' });
    const [, , main2] = models;
    assert.ok(main2);
    const endpoints = JSON.stringify(await restarted.envoy.configDump('dynamic_endpoint_configs'));
    assert.ok(endpoints.includes(String(main2.port)), 'it runs the latest graph at once');
    await waitFor('status to count it', () =>
      controlPlane.status().graphs.every((g) => g.programmedOn === g.envoys),
    );
    assert.equal(controlPlane.status().envoys.length, 3);
  });

  test('after a long control-plane outage, an Envoy is back within seconds of its return', async () => {
    const { proxy, envoy } = await canaryEnvoyBehindProxy('outage');
    try {
      const [, canary, edited] = models;
      assert.ok(canary && edited);
      const endpoints = async () =>
        JSON.stringify(await envoy.configDump('dynamic_endpoint_configs'));
      await waitFor('the Envoy to run its graph', async () =>
        (await endpoints()).includes(String(canary.port)),
      );
      // Long enough for Envoy's default reconnect backoff (500 ms doubling to 30 s) to reach 8–16 s.
      proxy.down();
      writeGraph(canaryDir, edited);
      await setTimeout(8_000);
      proxy.up();
      const back = performance.now();
      await waitFor(
        'the Envoy to reconnect and run the graph edited during the outage',
        async () => (await endpoints()).includes(String(edited.port)),
        10_000,
      );
      const seconds = (performance.now() - back) / 1000;
      assert.ok(
        seconds < 3,
        `reconnected ${seconds.toFixed(1)} s after the control plane was back`,
      );
    } finally {
      await envoy.stop();
      await proxy.stop();
    }
  });

  test('after a network cut, an Envoy reconnects and picks up what changed meanwhile', async () => {
    const { proxy, envoy } = await canaryEnvoyBehindProxy('behind-proxy');
    try {
      const [main, canary] = models;
      assert.ok(main && canary);
      proxy.cut();
      writeGraph(canaryDir, main);
      await waitFor(
        'the Envoy to reconnect and run the new canary graph',
        async () => {
          const endpoints = JSON.stringify(await envoy.configDump('dynamic_endpoint_configs'));
          return endpoints.includes(String(main.port)) && !endpoints.includes(String(canary.port));
        },
        10_000,
      );
    } finally {
      await envoy.stop();
      await proxy.stop();
    }
  });
});
