import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api } from '@kubernetes/client-node';
import { gatewayApiStandardInstall } from '../../scripts/setup/gateway-api.ts';
import { compileGraphs } from '../../src/controller/compile.ts';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import type { ListenerOptions } from '../../src/envoy/options.ts';
import { resourceFacts } from '../../src/envoy/resource-facts.ts';
import { ENDPOINT } from '../../src/envoy/type-urls.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { CRD_FILE } from '../../src/sources/kubernetes/crd-file.ts';
import { inferenceGraphCrd } from '../../src/sources/kubernetes/crd.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { digestOf, showDigest } from '../../src/xds/cache.ts';
import { modelVersion, post } from '../support/http.ts';
import { envoyHosts, Graphs, type EnvoyHost } from '../support/inference-graphs.ts';
import { startTestCluster, type TestCluster } from '../support/kube.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/server-process.ts';

/**
 * The Kubernetes controller in process against a real kube-apiserver and
 * etcd, serving a real Envoy: the CRD from the chart, the examples as
 * resources, status conditions, Services and EndpointSlices as EDS,
 * ReferenceGrants, Envoy's NACK in status, an expired watch (410) and an
 * API server restart. One API server for the whole file; it runs without
 * a watch cache, so a watch resumed from a compacted revision gets 410.
 *
 * EndpointSlices may not hold loopback addresses: their endpoints are
 * 10.x and fd00:: addresses Envoy is only ever asked about (admin API),
 * never sent a request or a health check.
 */

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

let cluster: TestCluster;
let controlPlane: ControlPlane;
let controlPlaneListener: ListenerOptions;
let envoy: RunningEnvoy;
let graphs: Graphs;
let base = '';
const models: SampleModel[] = [];
const logged: string[] = [];

function yamlGraph(
  namespace: string,
  name: string,
  nodes: string,
  options: { entry?: string; labels?: string } = {},
): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
  namespace: ${namespace}
${options.labels ?? ''}spec:
  entry: ${options.entry ?? 'm'}
  nodes:
${nodes}`;
}

const v2 = (name: string) => `${base}/v2/models/${name}/infer`;

async function answered(name: string): Promise<string | undefined> {
  try {
    const reply = await post(v2(name));
    return reply.status === 200 ? modelVersion(reply) : `status ${String(reply.status)}`;
  } catch (error) {
    return (error as Error).message;
  }
}

async function waitForAnswer(name: string, version: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    `${name} to answer as ${version}`,
    async () => ((await answered(name)) === version ? true : undefined),
    { timeoutMs, intervalMs: 50 },
  );
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, ...args]);
  return stdout;
}

before(async () => {
  cluster = await startTestCluster({
    apiServerArgs: ['--watch-cache=false'],
  });
  await cluster.apply(readFileSync(join(root, CRD_FILE), 'utf8'));
  await cluster.waitForCrdEstablished('inferencegraphs.switchyard.io');
  for (const namespace of ['models', 'team', 'strict']) {
    await cluster.apply(`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${namespace} }\n`);
  }
  for (const version of ['one', 'two']) {
    models.push(await startSampleModel({ name: 'm', version }));
  }
  const listenerPort = await freePort();
  base = `http://127.0.0.1:${String(listenerPort)}`;
  controlPlaneListener = {
    address: '127.0.0.1',
    port: listenerPort,
    hopPort: await freePort(),
    executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
  };
  controlPlane = await startControlPlane({
    xdsHost: '127.0.0.1',
    xdsPort: 0,
    listener: controlPlaneListener,
    kubernetes: {
      kubeConfig: cluster.kubeConfig,
      leaderElection: {
        namespace: 'default',
        name: 'switchyard-controller',
        identity: 'in-process',
        leaseDurationMs: 2000,
        renewDeadlineMs: 1500,
        retryPeriodMs: 250,
      },
      backoff: { initialMs: 100, maxMs: 1000 },
    },
    log: (line) => logged.push(line),
  });
  await waitFor(
    'the controller to be ready',
    () => Promise.resolve(controlPlane.ready() || undefined),
    {
      timeoutMs: 30_000,
    },
  );
  envoy = await startEnvoyProcess({
    bootstrap: bootstrapConfig({
      nodeId: 'kube',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: controlPlane.xdsPort,
      adminPort: await freePort(),
      delta: true,
    }),
    name: 'kube',
  });
  graphs = new Graphs(cluster.kubeConfig);
});

after(async () => {
  await envoy.stop();
  await controlPlane.stop();
  await Promise.all(models.map((m) => m.stop()));
  await cluster.stop();
});

const port = (index: number) => String(models[index]?.port ?? 0);

/** A one-model graph answering as sample model `index`. */
const modelGraph = (namespace: string, name: string, index: number, extra = '') =>
  yamlGraph(
    namespace,
    name,
    `    m: { kind: model, endpoint: { addresses: ["127.0.0.1:${port(index)}"] } }\n${extra}`,
  );

describe('InferenceGraph resources', () => {
  test('the CRD from the chart is accepted as structural; the examples apply as resources and are Accepted and Programmed; kubectl shows the columns', async () => {
    // The API server holds the schema as generated, field for field, and finds nothing non-structural.
    const stored = JSON.parse(
      await kubectl('get', 'crd', 'inferencegraphs.switchyard.io', '-o', 'json'),
    ) as {
      spec: { versions: { schema: unknown }[] };
      status: { conditions: { type: string; status: string }[] };
    };
    const generated = inferenceGraphCrd() as { spec: { versions: { schema: unknown }[] } };
    assert.deepEqual(stored.spec.versions[0]?.schema, generated.spec.versions[0]?.schema);
    assert.deepEqual(
      stored.status.conditions
        .filter((c) => c.status === 'True')
        .map((c) => c.type)
        .sort(),
      ['Established', 'NamesAccepted'],
    );
    const examples = readdirSync(join(root, 'examples')).filter((file) => file.endsWith('.yaml'));
    for (const file of examples) {
      const text = readFileSync(join(root, 'examples', file), 'utf8');
      await cluster.apply(text.replace(/^metadata:\n/m, 'metadata:\n  namespace: default\n'));
    }
    const names = ['fraud', 'scored', 'sentiment', 'tiered'];
    for (const name of names) {
      await graphs.condition('default', name, 'Accepted', (c) => c.status === 'True');
      const programmed = await graphs.condition(
        'default',
        name,
        'Programmed',
        (c) => c.status === 'True',
      );
      assert.match(
        programmed.message,
        /^generation 1 version [0-9a-f]{16} runs on every Envoy of group switchyard \(1\)$/,
      );
    }
    const table = await kubectl('get', 'inferencegraphs.switchyard.io', '-n', 'default');
    const [header, ...rows] = table.trim().split('\n');
    assert.match(header ?? '', /^NAME\s+ACCEPTED\s+PROGRAMMED\s+AGE\s+URL$/);
    assert.deepEqual(
      rows.map((row) => row.split(/\s+/).filter((_, i) => i !== 3)),
      names.map((name) => [name, 'True', 'True', `/v2/models/${name}/infer`]),
    );
    // The short name and the category answer too.
    assert.match(await kubectl('get', 'ig', '-n', 'default'), /fraud/);
    assert.match(await kubectl('get', 'switchyard', '-n', 'default'), /^fraud\s+True/m);
    for (const name of names) await graphs.delete('default', name);
  });

  test('an invalid resource gets Accepted=False with the exact path while its last accepted version serves; fixing it recovers; another graph is untouched throughout', async () => {
    await cluster.apply(modelGraph('models', 'steady', 0));
    await cluster.apply(modelGraph('models', 'changing', 0));
    await waitForAnswer('steady', 'one');
    await waitForAnswer('changing', 'one');
    let steadyFailures = 0;
    let steadyRequests = 0;
    const running = { yes: true };
    const steadyLoad = (async () => {
      while (running.yes) {
        steadyRequests += 1;
        if ((await answered('steady')) !== 'one') steadyFailures += 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      // The API server takes it (the schema holds); Switchyard's checks do not.
      await cluster.apply(
        yamlGraph(
          'models',
          'changing',
          `    m: { kind: transformer, to: missing, endpoint: { addresses: ["127.0.0.1:${port(1)}"] } }\n`,
        ),
      );
      const refused = await graphs.condition(
        'models',
        'changing',
        'Accepted',
        (c) => c.status === 'False' && c.observedGeneration === 2,
      );
      assert.equal(refused.reason, 'Invalid');
      assert.match(
        refused.message,
        /^1 problem\(s\); generation 1 keeps serving:\nspec\.nodes\.m\.to: there is no node "missing" \(hint: /,
      );
      const object = await graphs.get('models', 'changing');
      assert.equal(object.status?.observedGeneration, 2);
      const programmed = object.status.conditions?.find((c) => c.type === 'Programmed');
      assert.equal(programmed?.status, 'True');
      assert.equal(programmed.observedGeneration, 1, 'what runs is generation 1');
      assert.equal(await answered('changing'), 'one', 'the last accepted version serves');

      // A new resource that is invalid from the start serves nothing.
      await cluster.apply(
        yamlGraph('models', 'broken', '    m: { kind: model, endpoint: { url: "ftp://x" } }\n'),
      );
      const broken = await graphs.condition(
        'models',
        'broken',
        'Programmed',
        (c) => c.status === 'False',
      );
      assert.equal(broken.reason, 'Invalid');
      const brokenAccepted = (await graphs.get('models', 'broken')).status?.conditions?.find(
        (c) => c.type === 'Accepted',
      );
      assert.match(
        brokenAccepted?.message ?? '',
        /spec\.nodes\.m\.endpoint\.url: "ftp:\/\/x" is not an http\(s\) URL/,
      );

      await cluster.apply(modelGraph('models', 'changing', 1));
      await graphs.condition(
        'models',
        'changing',
        'Accepted',
        (c) => c.status === 'True' && c.observedGeneration === 3,
      );
      await graphs.condition(
        'models',
        'changing',
        'Programmed',
        (c) => c.status === 'True' && c.observedGeneration === 3,
      );
      await waitForAnswer('changing', 'two');
    } finally {
      running.yes = false;
      await steadyLoad;
    }
    assert.ok(steadyRequests > 10, `${String(steadyRequests)} requests to the other graph`);
    assert.equal(steadyFailures, 0, 'the other graph answered every request');
    for (const name of ['steady', 'changing', 'broken']) await graphs.delete('models', name);
  });
});

/** The cluster of a Service-served node "m" of graph models/<name>. */
const clusterOf = (namespace: string, name: string) => `${namespace}/${name}/m`;

async function hostsBecome(
  cluster_: string,
  expected: readonly Pick<EnvoyHost, 'address' | 'port' | 'health'>[],
  timeoutMs = 10_000,
): Promise<number> {
  const started = performance.now();
  let last: EnvoyHost[] | undefined;
  try {
    await waitFor(
      `Envoy's hosts of ${cluster_}`,
      async () => {
        last = await envoyHosts(envoy, cluster_);
        return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
      },
      { timeoutMs, intervalMs: 25 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; Envoy has ${JSON.stringify(last)}`);
  }
  return performance.now() - started;
}

function slice(
  namespace: string,
  service: string,
  name: string,
  endpoints: readonly {
    address: string;
    ready?: boolean;
    serving?: boolean;
    terminating?: boolean;
  }[],
  addressType = 'IPv4',
): string {
  const list = endpoints
    .map(
      (e) =>
        `  - addresses: ["${e.address}"]\n    conditions: { ready: ${String(e.ready ?? true)}${e.serving === undefined ? '' : `, serving: ${String(e.serving)}`}${e.terminating === undefined ? '' : `, terminating: ${String(e.terminating)}`} }\n`,
    )
    .join('');
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: { kubernetes.io/service-name: ${service} }
addressType: ${addressType}
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:${list === '' ? ' []\n' : `\n${list}`}`;
}

const service = (namespace: string, name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
`;

describe('Services and EndpointSlices', () => {
  test("Envoy follows a Service's endpoints as slices are created, scaled, made unready, terminating and deleted, within seconds, without a graph change; none is a 503 in the error shape", async () => {
    const api = cluster.kubeConfig.makeApiClient(DiscoveryV1Api);
    await cluster.apply(
      yamlGraph(
        'models',
        'churn',
        '    m: { kind: model, endpoint: { service: { name: iris, port: http } } }\n',
      ),
    );
    const missing = await graphs.condition(
      'models',
      'churn',
      'ResolvedRefs',
      (c) => c.status === 'False',
    );
    assert.equal(missing.reason, 'BackendNotFound');
    assert.match(missing.message, /^node m: Service models\/iris not found\n/);
    // The graph is served all the same: its cluster is there, with no endpoint.
    await graphs.condition('models', 'churn', 'Programmed', (c) => c.status === 'True');
    await hostsBecome(clusterOf('models', 'churn'), []);
    const none = await post(v2('churn'));
    assert.equal(none.status, 503);
    assert.deepEqual(none.json, {
      error: {
        graph: 'models/churn',
        node: 'm',
        status: 503,
        reason: 'the node has no ready endpoint to send the request to',
      },
    });

    await cluster.apply(service('models', 'iris'));
    await graphs.condition('models', 'churn', 'ResolvedRefs', (c) => c.status === 'True');
    const before = await envoy.stats('update_success');
    const took: Record<string, number> = {};
    const ready = (...addresses: string[]) =>
      addresses.map((address) => ({ address, port: 8080, health: 'HEALTHY' }));

    await cluster.apply(
      slice('models', 'iris', 'iris-a', [{ address: '10.1.0.1' }, { address: '10.1.0.2' }]),
    );
    took.created = await hostsBecome(clusterOf('models', 'churn'), ready('10.1.0.1', '10.1.0.2'));
    await cluster.apply(
      slice('models', 'iris', 'iris-a', [
        { address: '10.1.0.1' },
        { address: '10.1.0.2' },
        { address: '10.1.0.3' },
      ]),
    );
    await cluster.apply(slice('models', 'iris', 'iris-b', [{ address: '10.1.1.1' }]));
    took.scaled = await hostsBecome(
      clusterOf('models', 'churn'),
      ready('10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.1.1'),
    );
    await cluster.apply(
      slice('models', 'iris', 'iris-a', [
        { address: '10.1.0.1' },
        { address: '10.1.0.2', ready: false },
        { address: '10.1.0.3', ready: false, serving: true, terminating: true },
      ]),
    );
    took.unreadyAndTerminating = await hostsBecome(clusterOf('models', 'churn'), [
      { address: '10.1.0.1', port: 8080, health: 'HEALTHY' },
      { address: '10.1.0.3', port: 8080, health: 'DRAINING' },
      { address: '10.1.1.1', port: 8080, health: 'HEALTHY' },
    ]);
    await cluster.apply(slice('models', 'iris', 'iris-v6', [{ address: 'fd00::7' }], 'IPv6'));
    took.ipv6 = await hostsBecome(clusterOf('models', 'churn'), [
      { address: '10.1.0.1', port: 8080, health: 'HEALTHY' },
      { address: '10.1.0.3', port: 8080, health: 'DRAINING' },
      { address: '10.1.1.1', port: 8080, health: 'HEALTHY' },
      { address: 'fd00::7', port: 8080, health: 'HEALTHY' },
    ]);
    for (const name of ['iris-a', 'iris-b', 'iris-v6']) {
      await api.deleteNamespacedEndpointSlice({ namespace: 'models', name });
    }
    took.deleted = await hostsBecome(clusterOf('models', 'churn'), []);
    const after_ = await envoy.stats('update_success');
    for (const counter of [
      'cluster_manager.cds.update_success',
      'listener_manager.lds.update_success',
    ]) {
      assert.equal(
        after_[counter],
        before[counter],
        `${counter}: endpoint churn changed no ${counter}`,
      );
    }
    assert.equal((await post(v2('churn'))).status, 503);
    for (const [step, ms] of Object.entries(took)) {
      assert.ok(ms < 5000, `${step}: Envoy followed in ${ms.toFixed(0)} ms`);
    }
    process.stdout.write(
      `# endpoint churn, ms until Envoy's admin API showed it: ${JSON.stringify(took)}\n`,
    );

    // The Service's port by number, and one it does not have.
    await cluster.apply(
      yamlGraph(
        'models',
        'churn',
        '    m: { kind: model, endpoint: { service: { name: iris, port: 81 } } }\n',
      ),
    );
    const noPort = await graphs.condition(
      'models',
      'churn',
      'ResolvedRefs',
      (c) => c.status === 'False',
    );
    assert.match(
      noPort.message,
      /^node m: Service models\/iris has no port 81 \(its ports: 80 \(http\)\)/,
    );
    await graphs.delete('models', 'churn');
    await cluster.kubeConfig
      .makeApiClient(CoreV1Api)
      .deleteNamespacedService({ namespace: 'models', name: 'iris' });
  });

  test('a Service in another namespace is refused (no ReferenceGrant CRD, then no grant) until a ReferenceGrant allows it', async () => {
    await cluster.apply(service('models', 'shared'));
    await cluster.apply(slice('models', 'shared', 'shared-a', [{ address: '10.2.0.1' }]));
    await cluster.apply(
      yamlGraph(
        'team',
        'borrow',
        '    m: { kind: model, endpoint: { service: { name: shared, namespace: models, port: 80 } } }\n',
      ),
    );
    const hint =
      'apply in namespace models a ReferenceGrant (gateway.networking.k8s.io/v1beta1) from group switchyard.io kind InferenceGraph namespace team to group "" kind Service name shared';
    const refused = await graphs.condition(
      'team',
      'borrow',
      'ResolvedRefs',
      (c) => c.status === 'False',
    );
    assert.equal(refused.reason, 'RefNotPermitted');
    assert.ok(refused.message.includes(hint), refused.message);
    await hostsBecome(clusterOf('team', 'borrow'), []);

    await cluster.apply(readFileSync(gatewayApiStandardInstall(), 'utf8'));
    await cluster.waitForCrdEstablished('referencegrants.gateway.networking.k8s.io');
    // A grant for another kind of thing, and one from another namespace, allow nothing here.
    await cluster.apply(`apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: others, namespace: models }
spec:
  from:
    - { group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: team }
    - { group: switchyard.io, kind: InferenceGraph, namespace: elsewhere }
  to: [{ group: "", kind: Service }]
`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(
      (await graphs.get('team', 'borrow')).status?.conditions?.find(
        (c) => c.type === 'ResolvedRefs',
      )?.reason,
      'RefNotPermitted',
    );
    await hostsBecome(clusterOf('team', 'borrow'), []);

    await cluster.apply(`apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: team-graphs, namespace: models }
spec:
  from: [{ group: switchyard.io, kind: InferenceGraph, namespace: team }]
  to: [{ group: "", kind: Service, name: shared }]
`);
    await graphs.condition('team', 'borrow', 'ResolvedRefs', (c) => c.status === 'True');
    await hostsBecome(clusterOf('team', 'borrow'), [
      { address: '10.2.0.1', port: 8080, health: 'HEALTHY' },
    ]);

    await cluster.kubeConfig.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1beta1',
      namespace: 'models',
      plural: 'referencegrants',
      name: 'team-graphs',
    });
    await graphs.condition('team', 'borrow', 'ResolvedRefs', (c) => c.reason === 'RefNotPermitted');
    await hostsBecome(clusterOf('team', 'borrow'), []);
    await graphs.delete('team', 'borrow');
  });
});

/**
 * The names of the resources that carry a graph, endpoints aside (what its
 * version is made of), as the translator's facts say: its route table and
 * cluster, and the tables it shares with its group (readiness).
 */
function carriers(text: string): string[] {
  const compiled = compileGraphs(
    loadGraphDocuments('carriers', text).graphs,
    controlPlaneListener,
    envoyProtos(),
  );
  const names: string[] = [];
  for (const [typeUrl, resources] of compiled.resources) {
    if (typeUrl === ENDPOINT) continue;
    for (const [name, resource] of resources) {
      if (resourceFacts(typeUrl, name, resource).graphs.includes('strict/picky')) names.push(name);
    }
  }
  return names;
}

/** The graph's version as Envoy runs it: its resources' versions in the config dump, summed. */
async function versionInEnvoy(
  target: RunningEnvoy,
  graph: string,
  names: readonly string[],
): Promise<string> {
  const dump = (await target.configDump()) as {
    configs: Record<string, unknown>[];
  };
  const versions = new Map<string, string>();
  for (const config of dump.configs) {
    for (const entry of [
      ...((config.dynamic_active_clusters as Record<string, unknown>[] | undefined) ?? []),
      ...((config.dynamic_route_configs as Record<string, unknown>[] | undefined) ?? []),
    ]) {
      const resource = (entry.cluster ?? entry.route_config) as { name?: string } | undefined;
      if (resource?.name !== undefined) versions.set(resource.name, String(entry.version_info));
    }
  }
  let sum = 0n;
  for (const name of names) {
    const version = versions.get(name);
    assert.ok(version !== undefined, `Envoy runs ${name} of ${graph}`);
    sum += digestOf(name, version);
  }
  return showDigest(sum);
}

describe('Programmed', () => {
  let strict: RunningEnvoy;

  before(async () => {
    // Stricter than the validator: a regex the validator takes, this Envoy refuses.
    strict = await startEnvoyProcess({
      bootstrap: bootstrapConfig({
        nodeId: 'strict',
        nodeCluster: 'strict',
        xdsAddress: '127.0.0.1',
        xdsPort: controlPlane.xdsPort,
        adminPort: await freePort(),
        delta: true,
        runtime: { 're2.max_program_size.error_level': 5 },
      }),
      name: 'kube-strict',
    });
  });

  after(async () => {
    await strict.stop();
  });

  test("says the version every Envoy of the graph's group ACKed, and Envoy's message when it NACKs", async () => {
    const labels = '  labels: { switchyard.io/group: strict }\n';
    const text = (cases: string) =>
      yamlGraph(
        'strict',
        'picky',
        `    s: { kind: switch, cases: [${cases}], default: m }\n    m: { kind: model, endpoint: { addresses: ["127.0.0.1:${port(0)}"] } }\n`,
        { entry: 's', labels },
      );
    await cluster.apply(text('{ when: { header: x-a, equals: b }, to: m }'));
    const programmed = await graphs.condition(
      'strict',
      'picky',
      'Programmed',
      (c) => c.status === 'True',
    );
    const version = /version ([0-9a-f]{16}) runs on every Envoy of group strict \(1\)$/.exec(
      programmed.message,
    )?.[1];
    assert.ok(version, programmed.message);
    assert.equal(
      await versionInEnvoy(
        strict,
        'strict/picky',
        carriers(text('{ when: { header: x-a, equals: b }, to: m }')),
      ),
      version,
      "the version is the one Envoy's config dump shows for the resources that carry the graph",
    );

    await cluster.apply(text("{ when: { header: x-lane, regex: '[a-z]{8}' }, to: m }"));
    const rejected = await graphs.condition(
      'strict',
      'picky',
      'Programmed',
      (c) => c.status === 'False' && c.observedGeneration === 2,
    );
    assert.equal(rejected.reason, 'Rejected');
    assert.match(
      rejected.message,
      /Envoy strict rejected RDS switchyard-graphs\/picky: .*RE2 program size/,
    );
    const accepted = (await graphs.get('strict', 'picky')).status?.conditions?.find(
      (c) => c.type === 'Accepted',
    );
    assert.equal(accepted?.status, 'True', 'Switchyard accepts it: only this Envoy refuses it');
    // The default group's Envoy never sees group strict's graphs.
    assert.equal(await envoyHosts(envoy, 'strict/picky/m'), undefined);

    await cluster.apply(text('{ when: { header: x-a, equals: c }, to: m }'));
    await graphs.condition(
      'strict',
      'picky',
      'Programmed',
      (c) => c.status === 'True' && c.observedGeneration === 3,
    );
    await graphs.delete('strict', 'picky');
  });
});

describe('the API server', () => {
  test('a watch that expired (410 Gone) is listed again, and a restart of the API server is survived, without restarting the controller', async () => {
    const kube = controlPlane.kubernetes;
    assert.ok(kube);
    await cluster.apply(modelGraph('models', 'survivor', 0));
    await waitForAnswer('survivor', 'one');
    const listsBefore = kube.graphLists;
    // Many changes elsewhere, then etcd forgets its history: the controller's revision is gone.
    for (let i = 0; i < 20; i++) {
      await cluster.apply(
        `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: churn-${String(i)}, namespace: default }\ndata: { i: "${String(i)}" }\n`,
      );
    }
    await cluster.compactEtcd();
    await cluster.restartApiServer();
    await waitFor(
      'the graphs to be listed again (410 Gone)',
      () => Promise.resolve(kube.graphLists > listsBefore || undefined),
      {
        timeoutMs: 30_000,
      },
    );
    assert.ok(
      logged.some((line) => /inferencegraphs: .*listing and watching again/.test(line)),
      'the watch failed while the API server was down, and was started again',
    );
    // Changes after both flow through: an update, a new graph, a deletion.
    await cluster.apply(modelGraph('models', 'survivor', 1));
    await waitForAnswer('survivor', 'two');
    await cluster.apply(modelGraph('models', 'newcomer', 0));
    await waitForAnswer('newcomer', 'one');
    await graphs.condition('models', 'newcomer', 'Programmed', (c) => c.status === 'True');
    await graphs.delete('models', 'survivor');
    await waitFor(
      'survivor to be gone',
      async () => ((await post(v2('survivor'))).status === 404 ? true : undefined),
      {
        timeoutMs: 15_000,
      },
    );
    await graphs.delete('models', 'newcomer');
    assert.equal(controlPlane.ready(), true);
  });
});
