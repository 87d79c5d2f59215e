import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { inParallel, modelVersion, post, v2Payload, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { routeNamed } from '../support/config-dump.ts';
import { startStatusServer } from '../../src/controller/status-server.ts';
import { renderStatus } from '../../src/controller/status.ts';
import type { ControlPlaneStatus } from '../../src/controller/status.ts';
import { request } from 'undici';

/**
 * The native graph shapes end to end: graph files → control plane → a real
 * Envoy over ADS → real HTTP model servers on loopback.
 */
for (const delta of [false, true]) {
  describe(`native graph shapes through a real Envoy (${delta ? 'delta' : 'state-of-the-world'} xDS)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
    const models = new Map<string, SampleModel>();
    let controlPlane: ControlPlane;
    let envoy: RunningEnvoy;
    let base = '';

    const model = (key: string): SampleModel => {
      const found = models.get(key);
      assert.ok(found, `no sample model ${key}`);
      return found;
    };
    const address = (key: string) => `"127.0.0.1:${String(model(key).port)}"`;
    const url = (graphName: string, query = '') => `${base}/v2/models/${graphName}/infer${query}`;

    function graph(name: string, entry: string, nodes: string): string {
      return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
spec:
  entry: ${entry}
  nodes:
${nodes}`;
    }

    function writeSplit(v1: number, v2: number): void {
      writeFileSync(
        join(dir, 'split.yaml'),
        graph(
          'split',
          'canary',
          `    canary:
      kind: splitter
      routes:
        - { to: v1, weight: ${String(v1)} }
        - { to: v2, weight: ${String(v2)} }
    v1: { kind: model, model: fraud, endpoint: { addresses: [${address('v1')}] } }
    v2: { kind: model, model: fraud-next, endpoint: { addresses: [${address('v2')}] } }
`,
        ),
      );
    }

    before(async () => {
      const specs: [string, Parameters<typeof startSampleModel>[0]][] = [
        ['iris', { name: 'iris-model', version: 'iris' }],
        ['v1', { name: 'fraud', version: 'v1' }],
        ['v2', { name: 'fraud-next', version: 'v2' }],
        ['blue', { name: 'rec', version: 'blue' }],
        ['green', { name: 'rec', version: 'green' }],
        ['gold', { name: 'gold', version: 'gold' }],
        ['fast', { name: 'fast', version: 'fast' }],
        ['standard', { name: 'standard', version: 'standard' }],
        ['live', { name: 'sentiment', version: 'live' }],
        ['shadow', { name: 'sentiment', version: 'shadow' }],
        ['flaky', { name: 'flaky', version: 'flaky', failFirst: 1 }],
        ['slow', { name: 'slow', version: 'slow', delayMs: 1500 }],
      ];
      for (const [key, options] of specs) models.set(key, await startSampleModel(options));

      writeFileSync(
        join(dir, 'iris.yaml'),
        graph(
          'iris',
          'classifier',
          `    classifier: { kind: model, model: iris-model, endpoint: { addresses: [${address('iris')}] } }\n`,
        ),
      );
      writeSplit(90, 10);
      writeFileSync(
        join(dir, 'sticky.yaml'),
        graph(
          'sticky',
          'split',
          `    split:
      kind: splitter
      stickyHeader: x-user
      routes: [{ to: blue, weight: 1 }, { to: green, weight: 1 }]
    blue: { kind: model, model: rec, endpoint: { addresses: [${address('blue')}] } }
    green: { kind: model, model: rec, endpoint: { addresses: [${address('green')}] } }
`,
        ),
      );
      writeFileSync(
        join(dir, 'tiered.yaml'),
        graph(
          'tiered',
          'tier',
          `    tier:
      kind: switch
      cases:
        - { when: { header: x-tier, equals: gold }, to: gold }
        - { when: { query: variant, equals: fast }, to: fast }
      default: standard
    gold: { kind: model, endpoint: { addresses: [${address('gold')}] } }
    fast: { kind: model, endpoint: { addresses: [${address('fast')}] } }
    standard: { kind: model, endpoint: { addresses: [${address('standard')}] } }
`,
        ),
      );
      writeFileSync(
        join(dir, 'strict.yaml'),
        graph(
          'strict',
          'pick',
          `    pick:
      kind: switch
      cases: [{ when: { header: x-tier, equals: gold }, to: gold }]
    gold: { kind: model, endpoint: { addresses: [${address('gold')}] } }
`,
        ),
      );
      writeFileSync(
        join(dir, 'bodytier.yaml'),
        graph(
          'bodytier',
          'tier',
          `    tier:
      kind: switch
      cases:
        - { when: { header: x-tier, equals: fast }, to: fast }
        - { when: { body: "$.parameters.tier", in: [gold, platinum] }, to: gold }
        - { when: { body: "$.parameters['score']", gt: 0.5 }, to: fast }
        - { when: { body: "$.parameters.express", equals: true }, to: fast }
      default: standard
    gold: { kind: model, endpoint: { addresses: [${address('gold')}] } }
    fast: { kind: model, endpoint: { addresses: [${address('fast')}] } }
    standard: { kind: model, endpoint: { addresses: [${address('standard')}] } }
`,
        ).replace('spec:\n', 'spec:\n  maxRequestBytes: 4096\n'),
      );
      writeFileSync(
        join(dir, 'mirror.yaml'),
        graph(
          'sentiment',
          'mirror',
          `    mirror: { kind: mirror, to: live, shadow: shadow, percent: 25 }
    live: { kind: model, model: sentiment, endpoint: { addresses: [${address('live')}] } }
    shadow: { kind: model, model: sentiment, endpoint: { addresses: [${address('shadow')}] } }
`,
        ),
      );
      writeFileSync(
        join(dir, 'resilience.yaml'),
        graph(
          'flaky',
          'flaky',
          `    flaky:
      kind: model
      endpoint: { addresses: [${address('flaky')}] }
      retries: { attempts: 2, on: [5xx] }
`,
        ) +
          '---\n' +
          graph(
            'slow',
            'slow',
            `    slow: { kind: model, timeout: 300ms, endpoint: { addresses: [${address('slow')}] } }\n`,
          ) +
          '---\n' +
          graph(
            'dead',
            'gone',
            `    gone: { kind: model, endpoint: { addresses: ["127.0.0.1:${String(await freePort())}"] } }\n`,
          ),
      );

      const listenerPort = await freePort();
      base = `http://127.0.0.1:${String(listenerPort)}`;
      controlPlane = await startControlPlane({
        graphsDir: dir,
        xdsHost: '127.0.0.1',
        xdsPort: 0,
        listener: {
          address: '127.0.0.1',
          port: listenerPort,
          hopPort: await freePort(),
          executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
        },
      });
      envoy = await startEnvoyProcess({
        bootstrap: bootstrapConfig({
          nodeId: 'e2e-native',
          nodeCluster: 'switchyard',
          xdsAddress: '127.0.0.1',
          xdsPort: controlPlane.xdsPort,
          adminPort: await freePort(),
          delta,
        }),
        name: 'native',
      });
      await waitFor('the iris graph to answer through Envoy', async () => {
        try {
          return (await post(url('iris'))).status === 200;
        } catch {
          return false;
        }
      });
    });

    after(async () => {
      await envoy.stop();
      await controlPlane.stop();
      await Promise.all([...models.values()].map((m) => m.stop()));
      rmSync(dir, { recursive: true, force: true });
    });

    test('(a) a model graph answers through Envoy, on the model’s own path', async () => {
      const reply = await post(url('iris'));
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json, {
        model_name: 'iris-model',
        model_version: 'iris',
        outputs: [{ name: 'output', shape: [4], datatype: 'FP64', data: [1, 2, 3, 4] }],
      });
      assert.equal(model('iris').requests.at(-1)?.path, '/v2/models/iris-model/infer');
    });

    test('(b) a 90/10 split sends 10,000 requests within ±2 points of 90/10', async () => {
      const versions = await inParallel(10_000, 32, async () =>
        modelVersion(await post(url('split'))),
      );
      const v1 = versions.filter((v) => v === 'v1').length;
      const v2 = versions.filter((v) => v === 'v2').length;
      assert.equal(v1 + v2, 10_000);
      assert.ok(Math.abs(v1 / 10_000 - 0.9) <= 0.02, `v1 got ${String(v1)} of 10000`);
      assert.equal(model('v2').requests.at(-1)?.path, '/v2/models/fraud-next/infer');
    });

    test('(b) sticky routing keeps one header value on one child', async () => {
      const seen = new Set<string>();
      for (let user = 0; user < 24; user++) {
        const versions = new Set<string | undefined>();
        for (let i = 0; i < 8; i++) {
          const reply = await post(url('sticky'), undefined, { 'x-user': `user-${String(user)}` });
          versions.add(modelVersion(reply));
        }
        assert.equal(versions.size, 1, `user-${String(user)} went to ${[...versions].join(', ')}`);
        for (const v of versions) if (v !== undefined) seen.add(v);
      }
      assert.deepEqual([...seen].sort(), ['blue', 'green']);
    });

    test('(c) header and query switches route each case and the default', async () => {
      assert.equal(
        modelVersion(await post(url('tiered'), undefined, { 'x-tier': 'gold' })),
        'gold',
      );
      assert.equal(modelVersion(await post(url('tiered', '?variant=fast'))), 'fast');
      assert.equal(modelVersion(await post(url('tiered', '?variant=slow'))), 'standard');
      assert.equal(modelVersion(await post(url('tiered'))), 'standard');
      assert.equal(model('fast').requests.at(-1)?.path, '/v2/models/fast/infer');
    });

    test('(c) a switch without default answers a 404 of the documented shape', async () => {
      const reply = await post(url('strict'));
      assert.equal(reply.status, 404);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.deepEqual(reply.json, {
        error: {
          graph: 'default/strict',
          node: 'pick',
          status: 404,
          reason: 'no case of switch "pick" matched the request, and it has no default',
        },
      });
    });

    test('(c) a body switch runs in Envoy alone: typed JSON values, in, ranges, booleans', async () => {
      const tier = async (parameters: unknown, headers: Record<string, string> = {}) =>
        modelVersion(await post(url('bodytier'), { ...v2Payload, parameters }, headers));
      assert.equal(await tier({ tier: 'gold' }), 'gold');
      assert.equal(await tier({ tier: 'platinum' }), 'gold');
      assert.equal(await tier({ tier: 'silver' }), 'standard');
      assert.equal(await tier({ score: 0.51 }), 'fast');
      assert.equal(await tier({ score: 0.5 }), 'standard', 'gt is strict');
      assert.equal(await tier({ score: '0.9' }), 'standard', 'a string is not a number');
      assert.equal(await tier({ express: true }), 'fast');
      assert.equal(await tier({ express: 'true' }), 'standard', 'a string is not a boolean');
      assert.equal(await tier({ tier: { name: 'gold' } }), 'standard');
      assert.equal(await tier(undefined), 'standard');
      assert.equal(await tier({ tier: 'gold' }, { 'x-tier': 'fast' }), 'fast', 'first case wins');
      // The body reaches the model as the client sent it.
      const sent = { ...v2Payload, parameters: { tier: 'gold' } };
      await post(url('bodytier'), sent);
      assert.deepEqual(JSON.parse(model('gold').requests.at(-1)?.body ?? ''), sent);
      assert.equal(model('gold').requests.at(-1)?.path, '/v2/models/gold/infer');
    });

    test('(c) a body switch refuses a body it cannot read, in the documented shape', async () => {
      const send = async (body: string, headers: Record<string, string> = {}) => {
        const response = await request(url('bodytier'), {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...headers },
        });
        return { status: response.statusCode, json: await response.body.json() };
      };
      const refusal = (status: number, reason: string) => ({
        status,
        json: { error: { graph: 'default/bodytier', node: 'tier', status, reason } },
      });
      assert.deepEqual(
        await send('not json'),
        refusal(400, 'the request cannot be read: the payload is not JSON'),
      );
      assert.deepEqual(
        await send(''),
        refusal(400, 'the request cannot be read: the payload is empty'),
      );
      const get = await request(url('bodytier'));
      assert.deepEqual(
        { status: get.statusCode, json: await get.body.json() },
        refusal(400, 'the request cannot be read: the payload is empty'),
      );
      const large = await send(
        JSON.stringify({ parameters: { tier: 'gold' }, pad: 'x'.repeat(8192) }),
      );
      assert.equal(large.status, 413);
      assert.equal((large.json as { error: { graph: string } }).error.graph, 'default/bodytier');
      // A header case before the body cases takes the request without reading it.
      await send('not json', { 'x-tier': 'fast' });
      assert.equal(model('fast').requests.at(-1)?.body, 'not json');
    });

    test('(d) a mirror copies its fraction to the shadow; the client sees only the primary', async () => {
      model('shadow').requests.length = 0;
      const versions = await inParallel(2000, 16, async () =>
        modelVersion(await post(url('sentiment'))),
      );
      assert.ok(versions.every((v) => v === 'live'));
      await waitFor(
        'mirrored requests to arrive',
        () => model('shadow').requests.length >= 400,
        5000,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const share = model('shadow').requests.length / 2000;
      assert.ok(Math.abs(share - 0.25) <= 0.04, `the shadow got ${String(share * 100)}%`);
      assert.equal(model('shadow').requests.at(-1)?.path, '/v2/models/sentiment/infer');
    });

    test('(g) a failure is retried; a slow model yields 504 at the declared timeout', async () => {
      const before = model('flaky').requests.length;
      const reply = await post(url('flaky'));
      assert.equal(reply.status, 200);
      assert.equal(model('flaky').requests.length - before, 2, 'one failure, one retry');

      const started = performance.now();
      const slow = await post(url('slow'));
      const elapsed = performance.now() - started;
      assert.equal(slow.status, 504);
      assert.ok(elapsed >= 280 && elapsed < 1200, `timed out after ${elapsed.toFixed(0)} ms`);
      assert.deepEqual(slow.json, {
        error: {
          graph: 'default/slow',
          node: 'slow',
          status: 504,
          reason: 'the node did not answer within its timeout',
        },
      });
    });

    test('(g) a node nobody answers for is a 502 of the documented shape', async () => {
      const reply = await post(url('dead'));
      assert.equal(reply.status, 502);
      assert.equal(reply.headers['content-type'], 'application/json');
      const error = (reply.json as { error: Record<string, unknown> }).error;
      assert.equal(error.graph, 'default/dead');
      assert.equal(error.node, 'gone');
      assert.equal(error.status, 502);
      assert.match(String(error.reason), /^the node could not be reached: /);
    });

    test('(e) editing a graph file changes routing within a second, without touching the listener', async () => {
      const ldsCounter = 'listener_manager.lds.update_success';
      const ldsBefore = (await envoy.stats(ldsCounter))[ldsCounter];
      writeSplit(0, 100);
      const converged = await waitFor(
        'config_dump to show the new weights',
        async () => {
          const dump = await envoy.configDump('dynamic_route_configs');
          const route = routeNamed(dump, 'default/split/0');
          return (
            route?.route?.cluster === 'default/split/v2' &&
            route.match?.runtime_fraction === undefined
          );
        },
        5000,
      );
      assert.ok(converged < 1000, `Envoy had the change after ${converged.toFixed(0)} ms`);
      const versions = await inParallel(200, 16, async () =>
        modelVersion(await post(url('split'))),
      );
      assert.ok(
        versions.every((v) => v === 'v2'),
        'every request goes to v2 now',
      );
      assert.equal(
        (await envoy.stats(ldsCounter))[ldsCounter],
        ldsBefore,
        'weights travel by RDS alone',
      );
    });

    test('(e) a switch on a body value no graph read before travels by ECDS, not the listener', async () => {
      const ldsCounter = 'listener_manager.lds.update_success';
      const ecdsCounter = 'extension_config_discovery.http_filter.switchyard-body.update_success';
      const ldsBefore = (await envoy.stats(ldsCounter))[ldsCounter];
      const ecdsBefore = (await envoy.stats(ecdsCounter))[ecdsCounter] ?? 0;
      writeFileSync(
        join(dir, 'bodyroute.yaml'),
        graph(
          'bodyroute',
          'pick',
          `    pick:
      kind: switch
      cases: [{ when: { body: "$.route", prefix: gold }, to: gold }]
      default: standard
    gold: { kind: model, endpoint: { addresses: [${address('gold')}] } }
    standard: { kind: model, endpoint: { addresses: [${address('standard')}] } }
`,
        ),
      );
      await waitFor(
        'the new graph to route on its body',
        async () =>
          modelVersion(await post(url('bodyroute'), { ...v2Payload, route: 'golden' })) === 'gold',
        5000,
      );
      assert.equal(
        modelVersion(await post(url('bodyroute'), { ...v2Payload, route: 'tin' })),
        'standard',
      );
      assert.equal(
        modelVersion(await post(url('bodytier'), { ...v2Payload, parameters: { tier: 'gold' } })),
        'gold',
        'the other body switch still reads its value',
      );
      assert.equal((await envoy.stats(ldsCounter))[ldsCounter], ldsBefore, 'the listener stays');
      assert.ok(((await envoy.stats(ecdsCounter))[ecdsCounter] ?? 0) > ecdsBefore);
    });

    test('(f) an invalid edit keeps the previous routing and reports the error', async () => {
      const source = join(dir, 'split.yaml');
      writeFileSync(
        source,
        graph(
          'split',
          'canary',
          `    canary:\n      kind: splitter\n      routes:\n        - { to: v1, wieght: 5 }\n`,
        ),
      );
      await waitFor('the problem to be reported', () => controlPlane.problems().has(source), 5000);
      const problems = controlPlane.problems().get(source) ?? [];
      assert.ok(
        problems.some(
          (p) =>
            p.path === 'spec.nodes.canary.routes[0].wieght' &&
            p.message === 'unknown field "wieght"' &&
            p.hint === 'did you mean "weight"?',
        ),
        JSON.stringify(problems),
      );
      const versions = await inParallel(100, 8, async () => modelVersion(await post(url('split'))));
      assert.ok(
        versions.every((v) => v === 'v2'),
        'the last good version keeps serving',
      );
    });

    test('status: the Envoy, its ACKed versions, every graph programmed, and the rejected file', async () => {
      const server = await startStatusServer(controlPlane.status, { host: '127.0.0.1', port: 0 });
      try {
        const response = await request(`http://127.0.0.1:${String(server.port)}/status`);
        const status = (await response.body.json()) as ControlPlaneStatus;
        const [envoyStatus, ...others] = status.envoys;
        assert.ok(envoyStatus);
        assert.equal(others.length, 0);
        assert.equal(envoyStatus.nodeId, 'e2e-native');
        assert.equal(envoyStatus.protocol, delta ? 'delta' : 'sotw');
        assert.equal(status.graphs.length, 11);
        await waitFor('every graph to be programmed', () =>
          controlPlane.status().graphs.every((g) => g.programmedOn === 1),
        );
        assert.deepEqual(
          status.problems.map((p) => p.source),
          [join(dir, 'split.yaml')],
        );
        const text = renderStatus(controlPlane.status());
        assert.match(
          text,
          /default\/split {2}group switchyard {2}Envoy alone {2}programmed on 1\/1 Envoy\(s\)/,
        );
        assert.match(
          text,
          /default\/bodytier .*Envoy alone, binary tensors by the executor from tier \(ext_proc\)/,
          'a switch on the body, natively; V2 requests with binary tensors, by the executor',
        );
        assert.match(text, /unknown field "wieght"/);
      } finally {
        await server.stop();
      }
    });
  });
}
