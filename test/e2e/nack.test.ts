import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { renderStatus } from '../../src/controller/status.ts';
import type { LogFields } from '../../src/runtime/log.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import {
  CLUSTER,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  type ResourceTypeUrl,
} from '../../src/envoy/type-urls.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { modelVersion, post, v2Payload, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { steadyLoad } from '../support/steady-load.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

/**
 * A graph change Envoy refuses, under load, on both protocols: the graph
 * keeps serving its previous version with no failed request, another graph
 * keeps changing, status and the log name the graph with Envoy's message,
 * the refused version is not sent again, and the next good change serves.
 *
 * The control plane accepts every change here; the test's Envoy is made
 * stricter than the validator: a runtime that lowers RE2's program size
 * limit (a modest regex, and the body filter's ".*", are then refused), and
 * Envoys built without the STRICT_DNS cluster or the body filter (a graph
 * with a host name address, or the first graph that reads a body, is then
 * refused).
 */
const rate = 300;
const v2 = (name: string) => `/v2/models/${name}/infer`;

interface Refusal {
  readonly typeUrl: string;
  readonly message: string;
}

interface Lever {
  readonly title: string;
  readonly runtime?: Readonly<Record<string, unknown>>;
  readonly disabledExtensions?: readonly string[];
  readonly cases: readonly Case[];
}

interface Case {
  readonly typeUrl: ResourceTypeUrl;
  readonly title: string;
  /** Graph a's refused version: what it would answer ("three") is never seen. */
  readonly refused: (ports: Ports) => string;
  readonly message: RegExp;
}

interface Ports {
  readonly one: number;
  readonly two: number;
  readonly three: number;
}

const models = ['one', 'two', 'three'] as const;

/**
 * A switch with a case per model (a header nobody sends) and a default;
 * `cases` adds to them, `extra` adds nodes; `without` leaves a model out.
 */
function graph(
  name: string,
  options: { fallback: string; cases?: string; extra?: string; without?: string },
  ports: Ports,
): string {
  const kept = models.filter((m) => m !== options.without);
  const cases = kept.map((m) => `{ when: { header: x-${m}, equals: q }, to: ${m} }`);
  const nodes = kept.map(
    (m) =>
      `    ${m}: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:${String(ports[m])}"] } }\n`,
  );
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
spec:
  entry: pick
  timeout: 2s
  nodes:
    pick: { kind: switch, cases: [${[...cases, ...(options.cases ? [options.cases] : [])].join(', ')}], default: ${options.fallback} }
${nodes.join('')}${options.extra ?? ''}`;
}

/** Each refused version also moves the default to model "three": seeing it would mean it applied. */
const bodySwitch = (ports: Ports) =>
  graph(
    'a',
    { fallback: 'three', cases: '{ when: { body: "$.tier", equals: gold }, to: three }' },
    ports,
  );

const levers: readonly Lever[] = [
  {
    title: 'RE2 program size limit 5, no STRICT_DNS clusters',
    runtime: { 're2.max_program_size.error_level': 5 },
    disabledExtensions: ['envoy.clusters/envoy.cluster.strict_dns'],
    cases: [
      {
        typeUrl: ROUTE,
        title: 'a route table with a regex over the limit',
        // It also drops the model the previous version answers with: its cluster must stay.
        refused: (ports) =>
          graph(
            'a',
            {
              fallback: 'three',
              cases: "{ when: { header: x-lane, regex: '[a-z]{8}' }, to: two }",
              without: 'one',
            },
            ports,
          ),
        message: /RE2 program size/,
      },
      {
        typeUrl: CLUSTER,
        title: 'a cluster of a host name (STRICT_DNS), and the route table that uses it',
        refused: (ports) =>
          graph(
            'a',
            {
              fallback: 'named',
              extra: `    named: { kind: model, model: m, endpoint: { addresses: ["localhost:${String(ports.three)}"] } }\n`,
            },
            ports,
          ),
        message: /default\/a\/named: .*strict_dns/,
      },
      {
        typeUrl: EXTENSION_CONFIG,
        title: 'the body filter configuration (ECDS) of the first graph that reads a body',
        refused: bodySwitch,
        message: /RE2 program size/,
      },
    ],
  },
  {
    title: 'no json_to_metadata filter',
    disabledExtensions: ['envoy.filters.http/envoy.filters.http.json_to_metadata'],
    cases: [
      {
        typeUrl: LISTENER,
        title: 'the listener that gains the body filter',
        refused: bodySwitch,
        message: /switchyard-http: .*json_to_metadata/,
      },
    ],
  },
];

for (const delta of [false, true]) {
  for (const lever of levers) {
    describe(`${delta ? 'delta' : 'SotW'}: Envoy refuses a graph change (${lever.title})`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-nack-'));
      const servers: SampleModel[] = [];
      const refusals: Refusal[] = [];
      const logged: { line: string; fields?: LogFields }[] = [];
      let ports: Ports;
      let controlPlane: ControlPlane;
      let envoy: RunningEnvoy;
      /** Envoy's xDS connection runs through it, so a test can make it reconnect. */
      let proxy: TcpProxy;
      let base = '';

      const write = (file: string, yaml: string) => {
        writeFileSync(join(dir, file), yaml);
      };
      const answers = async (name: string, version: string) =>
        modelVersion(await post(`${base}${v2(name)}`)) === version;

      before(async () => {
        for (const version of models) {
          servers.push(await startSampleModel({ name: 'm', version }));
        }
        const [one, two, three] = servers;
        assert.ok(one && two && three);
        ports = { one: one.port, two: two.port, three: three.port };
        write('a.yaml', graph('a', { fallback: 'one' }, ports));
        write('b.yaml', graph('b', { fallback: 'one' }, ports));
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
          xdsEvents: {
            nack: (_stream, typeUrl, _version, message) => refusals.push({ typeUrl, message }),
          },
          log: (line, fields) => logged.push({ line, ...(fields && { fields }) }),
        });
        envoy = await startEnvoyProcess({
          bootstrap: bootstrapConfig({
            nodeId: 'strict',
            nodeCluster: 'switchyard',
            xdsAddress: '127.0.0.1',
            xdsPort: (proxy = await startTcpProxy(controlPlane.xdsPort)).port,
            adminPort: await freePort(),
            delta,
            ...(lever.runtime && { runtime: lever.runtime }),
          }),
          name: 'nack',
          ...(lever.disabledExtensions && { disabledExtensions: lever.disabledExtensions }),
        });
        await waitFor('both graphs to answer', async () => {
          try {
            return (await answers('a', 'one')) && (await answers('b', 'one'));
          } catch {
            return false;
          }
        });
      });

      after(async () => {
        await envoy.stop();
        await proxy.stop();
        await controlPlane.stop();
        await Promise.all(servers.map((m) => m.stop()));
        rmSync(dir, { recursive: true, force: true });
      });

      for (const refusal of lever.cases) {
        test(`${refusal.title}: the previous version serves, another graph changes, status says so, a reconnect sends nothing again`, async (t) => {
          refusals.length = 0;
          // Both protocols read the body switch's body; the other graphs ignore it.
          const load = steadyLoad({
            rate,
            targets: [
              { url: `${base}${v2('a')}`, body: { ...v2Payload, tier: 'gold' } },
              { url: `${base}${v2('b')}` },
            ],
            maxSeconds: 60,
          });
          try {
            await new Promise((resolve) => setTimeout(resolve, 500));
            write('a.yaml', refusal.refused(ports));
            await waitFor('Envoy to refuse the change', () =>
              refusals.some((r) => r.typeUrl === refusal.typeUrl),
            );
            write('b.yaml', graph('b', { fallback: 'two' }, ports));
            await waitFor('the other graph to change', () => answers('b', 'two'));

            const status = controlPlane.status();
            const [a, b] = ['default/a', 'default/b'].map((id) =>
              status.graphs.find((g) => g.id === id),
            );
            assert.ok(a && b);
            assert.equal(a.programmedOn, 0, 'the refused version of a is not what Envoy runs');
            assert.ok(
              a.problems.some((p) => p.envoy === 'strict' && refusal.message.test(p.message)),
              `status names graph a with Envoy's message: ${JSON.stringify(a.problems)}`,
            );
            const shown = renderStatus(status).split('\n');
            const line = shown.findIndex((l) => l.trim().startsWith('default/a '));
            assert.ok(
              refusal.message.test(shown[line + 1] ?? ''),
              `switchyard status shows it under graph a:\n${shown.join('\n')}`,
            );
            assert.equal(b.programmedOn, 1, 'graph b is programmed');
            assert.deepEqual(b.problems, []);
            assert.ok(
              logged.some(
                ({ line, fields }) =>
                  line.includes('rejected') &&
                  refusal.message.test(line) &&
                  fields?.envoy === 'strict' &&
                  fields.group === 'switchyard' &&
                  fields.typeUrl === refusal.typeUrl,
              ),
              'the log has Envoy’s message, with the Envoy, its group and the type as fields',
            );

            // A response of several that names no resource is sent again in halves until the
            // refusal is pinned (a refused graph may change a table graphs share, its host's
            // readiness): every refusal is of the refused version, and pinned by now.
            assert.ok(
              refusals.every(
                (r) => r.typeUrl === refusal.typeUrl && refusal.message.test(r.message),
              ),
              `every refusal is of the refused version: ${JSON.stringify(refusals)}`,
            );
            const pinned = refusals.length;
            // Steady load while the refusal stands, and Envoy reconnects: nothing is sent again.
            await new Promise((resolve) => setTimeout(resolve, 1500));
            const since = controlPlane.status().envoys[0]?.connectedSince ?? '';
            proxy.cut();
            await waitFor('Envoy to reconnect', () =>
              controlPlane.status().envoys.some((e) => e.connectedSince > since),
            );
            await new Promise((resolve) => setTimeout(resolve, 1500));
            assert.equal(
              refusals.length,
              pinned,
              'the refused version was not sent again, not after the reconnect either',
            );
            assert.equal(
              controlPlane.status().graphs.find((g) => g.id === 'default/b')?.programmedOn,
              1,
            );

            // The recovery answers "two": "three" stays the refused version's alone.
            write('a.yaml', graph('a', { fallback: 'two' }, ports));
            await waitFor('the next good change to serve', () => answers('a', 'two'));
            await new Promise((resolve) => setTimeout(resolve, 300));
          } finally {
            const results = await load.stop();
            const failed = results.filter((r) => r.reply?.status !== 200);
            assert.deepEqual(
              failed
                .slice(0, 3)
                .map((r) => r.error ?? `${String(r.reply?.status)} ${r.reply?.text ?? ''}`),
              [],
              `${String(failed.length)} of ${String(results.length)} requests failed`,
            );
            // A request sent just before the recovery may be routed just after it, so order
            // proves nothing on a busy machine; the refused version's answer would.
            const versions = new Set(
              results.filter((r) => r.target === 0).map((r) => r.reply && modelVersion(r.reply)),
            );
            assert.ok(versions.has('one'), 'graph a served its previous version');
            assert.ok(!versions.has('three'), 'graph a never served its refused version');
            t.diagnostic(
              `${String(results.length)} requests, ${String(failed.length)} failed; Envoy said: ${refusals[0]?.message ?? ''}`,
            );
          }
          // Back to the start for the next case.
          write('a.yaml', graph('a', { fallback: 'one' }, ports));
          write('b.yaml', graph('b', { fallback: 'one' }, ports));
          await waitFor(
            'both graphs back',
            async () => (await answers('a', 'one')) && (await answers('b', 'one')),
          );
        });
      }
    });
  }
}
