import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { inParallel, modelVersion, post, v2Payload, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';

/**
 * Config changes under steady load drop nothing: weights every 100 ms; the
 * first graph that reads bodies (the listener changes), then a body value
 * no graph read before, twice (the filter's ECDS configuration changes),
 * while half the load goes through that graph; a graph added and removed, a
 * node renamed, endpoints replaced; and the control plane stopped, the graph
 * edited while it is down, and restarted.
 */
const seconds = Number(process.env.HITLESS_SECONDS ?? 30);
const rate = 500;

describe(`hitless changes under ${String(rate)} requests/s for ${String(seconds)} s`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-hitless-'));
  const models: SampleModel[] = [];
  let controlPlane: ControlPlane;
  let xdsPort = 0;
  let envoy: RunningEnvoy;
  let base = '';
  let listenerPort = 0;

  const graph = (name: string, nodes: string, entry = 'split') =>
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
spec:
  entry: ${entry}
  timeout: 2s
  nodes:
${nodes}`;

  function writeSplit(options: {
    a: string;
    b: string;
    weights: [number, number];
    v2Port: number;
  }) {
    const [v1Model] = models;
    assert.ok(v1Model);
    writeFileSync(
      join(dir, 'split.yaml'),
      graph(
        'split',
        `    split: { kind: splitter, routes: [{ to: ${options.a}, weight: ${String(options.weights[0])} }, { to: ${options.b}, weight: ${String(options.weights[1])} }] }
    ${options.a}: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:${String(v1Model.port)}"] } }
    ${options.b}: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:${String(options.v2Port)}"] } }
`,
      ),
    );
  }

  const startPlane = async () =>
    startControlPlane({
      graphsDir: dir,
      xdsHost: '127.0.0.1',
      xdsPort,
      listener: {
        address: '127.0.0.1',
        port: listenerPort,
        hopPort: await freePort(),
        executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
      },
    });

  before(async () => {
    for (const version of ['one', 'two', 'three']) {
      models.push(await startSampleModel({ name: 'm', version }));
    }
    const [, two] = models;
    assert.ok(two);
    writeSplit({ a: 'v1', b: 'v2', weights: [50, 50], v2Port: two.port });
    listenerPort = await freePort();
    xdsPort = await freePort();
    base = `http://127.0.0.1:${String(listenerPort)}`;
    controlPlane = await startPlane();
    envoy = await startEnvoyProcess({
      bootstrap: bootstrapConfig({
        nodeId: 'hitless',
        nodeCluster: 'switchyard',
        xdsAddress: '127.0.0.1',
        xdsPort,
        adminPort: await freePort(),
      }),
      name: 'hitless',
    });
    await waitFor('the graph to answer', async () => {
      try {
        return (await post(`${base}/v2/models/split/infer`)).status === 200;
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await envoy.stop();
    await controlPlane.stop();
    await Promise.all(models.map((m) => m.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('zero failed requests, and the final routing matches the last spec', async (t) => {
    const [one, two, three] = models;
    assert.ok(one && two && three);
    const ldsCounter = 'listener_manager.lds.update_success';
    const ecdsCounter = 'extension_config_discovery.http_filter.switchyard-body.update_success';
    const ldsBefore = (await envoy.stats(ldsCounter))[ldsCounter] ?? 0;
    // A switch on the body: it reads $.parameters.tier, and later $.lane as well.
    const tiersPayload = { ...v2Payload, parameters: { tier: 'gold' }, lane: 'fast' };
    const writeTiers = (laneTo?: string) => {
      const lane = laneTo ? `{ when: { body: "$.lane", equals: fast }, to: ${laneTo} }, ` : '';
      writeFileSync(
        join(dir, 'tiers.yaml'),
        graph(
          'tiers',
          `    tier: { kind: switch, cases: [${lane}{ when: { body: "$.parameters.tier", equals: gold }, to: gold }], default: other }
    gold: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:${String(one.port)}"] } }
    other: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:${String(two.port)}"] } }
`,
          'tier',
        ),
      );
    };
    let tiersServed = false;
    let throughTiers = 0;
    const failures: string[] = [];
    let sent = 0;
    let inFlight = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const at = (fraction: number) => started + fraction * seconds * 1000;

    // Open loop: requests leave on schedule whether or not earlier ones returned.
    const load = new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        if (now >= deadline) {
          clearInterval(tick);
          const drain = setInterval(() => {
            if (inFlight === 0) {
              clearInterval(drain);
              resolve();
            }
          }, 10);
          return;
        }
        const due = Math.floor(((now - started) / 1000) * rate) - sent;
        for (let i = 0; i < due; i++) {
          sent++;
          inFlight++;
          const toTiers = tiersServed && sent % 2 === 0;
          if (toTiers) throughTiers++;
          (toTiers
            ? post(`${base}/v2/models/tiers/infer`, tiersPayload)
            : post(`${base}/v2/models/split/infer`)
          )
            .then((reply) => {
              if (reply.status !== 200) failures.push(`${String(reply.status)} ${reply.text}`);
            })
            .catch((error: unknown) => failures.push(String(error)))
            .finally(() => inFlight--);
        }
      }, 5);
    });

    const steps: [number, () => Promise<void> | void][] = [
      [
        0.05,
        // The first graph to read a body: the listener gains the body filter under load.
        async () => {
          writeTiers();
          await waitFor('the body switch to answer', async () => {
            const reply = await post(`${base}/v2/models/tiers/infer`, tiersPayload);
            return modelVersion(reply) === 'one';
          });
          tiersServed = true;
        },
      ],
      [
        0.15,
        async () => {
          writeFileSync(
            join(dir, 'extra.yaml'),
            // It reads a body value no graph read before: a new filter configuration (ECDS).
            graph(
              'extra',
              `    pick: { kind: switch, cases: [{ when: { body: "$.lane", equals: fast }, to: m }], default: m }
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:${String(one.port)}"] } }
`,
              'pick',
            ),
          );
          // Served before it goes: else a loaded machine may fold the add and the removal
          // into one push, and the filter configuration it brings is never sent.
          await waitFor('the extra graph to answer', async () => {
            const reply = await post(`${base}/v2/models/extra/infer`, {
              ...v2Payload,
              lane: 'fast',
            });
            return reply.status === 200;
          });
        },
      ],
      [
        0.3,
        () => {
          unlinkSync(join(dir, 'extra.yaml'));
        },
      ],
      [
        0.35,
        () => {
          writeTiers('other');
        },
      ],
      [
        0.4,
        () => {
          writeSplit({ a: 'first', b: 'v2', weights: [50, 50], v2Port: two.port });
        },
      ],
      [
        0.5,
        () => {
          writeSplit({ a: 'first', b: 'v2', weights: [50, 50], v2Port: three.port });
        },
      ],
      [0.6, () => controlPlane.stop()],
      [
        0.7,
        () => {
          writeSplit({ a: 'first', b: 'v2', weights: [0, 100], v2Port: three.port });
        },
      ],
      [
        0.75,
        async () => {
          controlPlane = await startPlane();
        },
      ],
    ];
    let weight = 0;
    let step = 0;
    while (performance.now() < deadline) {
      const next = steps[step];
      if (next && performance.now() >= at(next[0])) {
        await next[1]();
        step++;
      } else if (performance.now() < at(0.4)) {
        // Weight changes every 100 ms while nothing else happens.
        weight = (weight + 10) % 100;
        writeSplit({ a: 'v1', b: 'v2', weights: [weight + 1, 100 - weight], v2Port: two.port });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await load;

    assert.equal(step, steps.length, 'every change was made');
    assert.ok(
      ((await envoy.stats(ldsCounter))[ldsCounter] ?? 0) >= ldsBefore + 1,
      'the listener changed under load',
    );
    assert.ok(
      ((await envoy.stats(ecdsCounter))[ecdsCounter] ?? 0) >= 3,
      'the body filter changed under load',
    );
    assert.ok(sent >= rate * seconds * 0.9, `sent ${String(sent)} requests`);
    assert.deepEqual(
      failures.slice(0, 5),
      [],
      `${String(failures.length)} of ${String(sent)} failed`,
    );
    const versions = await inParallel(200, 16, async () =>
      modelVersion(await post(`${base}/v2/models/split/infer`)),
    );
    assert.ok(
      versions.every((v) => v === 'three'),
      'the last spec: everything to the replaced endpoint',
    );
    assert.equal(
      modelVersion(await post(`${base}/v2/models/tiers/infer`, tiersPayload)),
      'two',
      'the last spec: the lane case comes first',
    );
    t.diagnostic(
      `hitless: ${String(sent)} requests (${String(throughTiers)} through the body switch), ${String(failures.length)} failed`,
    );
  });
});
