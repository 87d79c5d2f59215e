import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CoordinationV1Api,
  V1Lease,
  V1LeaseSpec,
  V1MicroTime,
  V1ObjectMeta,
  Watch,
} from '@kubernetes/client-node';
import type { DesiredStatus } from '../../src/controller/graph-conditions.ts';
import { LeaderElector } from '../../src/controller/leader-election.ts';
import { StatusWriter } from '../../src/controller/status-writer.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { CRD_FILE } from '../../src/sources/kubernetes/crd-file.ts';
import type { InferenceGraphObject } from '../../src/sources/kubernetes/inference-graphs.ts';
import { Graphs } from '../support/inference-graphs.ts';
import { startTestCluster, type TestCluster } from '../support/kube.ts';
import { freePort } from '../support/ports.ts';
import { startServerProcess, waitFor, type ServerProcess } from '../support/server-process.ts';

/**
 * Leader election on a real Lease, and two controller processes sharing one:
 * only the leader writes status, every write is one change of status (none
 * lost, none twice), and when the leader is killed the other takes over
 * within the lease duration. Writes are counted from the API server's own
 * audit log, which names who made each request.
 */

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-leader-'));
const auditLog = join(dir, 'audit.log');
const namespace = 'switchyard-system';
const lease = { durationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 250 };

let cluster: TestCluster;
let coordination: CoordinationV1Api;

before(async () => {
  const policy = join(dir, 'audit-policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    resources:
      - group: switchyard.io
        resources: [inferencegraphs/status]
  - level: None
`,
  );
  cluster = await startTestCluster({
    apiServerArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`],
  });
  coordination = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
  await cluster.apply(`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${namespace} }\n`);
});

after(async () => {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

function elector(name: string, identity: string, log: string[] = []): LeaderElector {
  return new LeaderElector({
    kubeConfig: cluster.kubeConfig,
    namespace,
    name,
    identity,
    leaseDurationMs: lease.durationMs,
    renewDeadlineMs: lease.renewDeadlineMs,
    retryPeriodMs: lease.retryPeriodMs,
    onStartedLeading: () => log.push(`${identity} leads`),
    onStoppedLeading: () => log.push(`${identity} stops`),
    log: () => undefined,
  });
}

/** Samples who leads every 20 ms for `ms`; fails if two ever lead at once. */
async function neverTwo(electors: readonly LeaderElector[], ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const leaders = electors.filter((e) => e.isLeader).map((e) => e.identity);
    assert.ok(leaders.length <= 1, `two leaders at once: ${leaders.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function holder(name: string): Promise<string | undefined> {
  try {
    return (await coordination.readNamespacedLease({ namespace, name })).spec?.holderIdentity;
  } catch {
    return undefined;
  }
}

describe('LeaderElector', () => {
  test('of electors racing for a new Lease exactly one leads; stopping releases it and another leads at once', async () => {
    const electors = ['a', 'b', 'c', 'd'].map((id) => elector('race', id));
    for (const e of electors) e.start();
    try {
      await waitFor(
        'a leader',
        () => Promise.resolve(electors.some((e) => e.isLeader) || undefined),
        {
          timeoutMs: 10_000,
          intervalMs: 20,
        },
      );
      await neverTwo(electors, 3000);
      const first = electors.find((e) => e.isLeader);
      assert.ok(first);
      assert.equal(await holder('race'), first.identity);
      const released = performance.now();
      await first.stop();
      const rest = electors.filter((e) => e !== first);
      await waitFor(
        'another leader',
        () => Promise.resolve(rest.some((e) => e.isLeader) || undefined),
        {
          timeoutMs: 10_000,
          intervalMs: 10,
        },
      );
      const took = performance.now() - released;
      // A released Lease has no holder: the next try takes it, long before it would expire.
      assert.ok(took < lease.durationMs, `taken over ${took.toFixed(0)} ms after the release`);
      await neverTwo(rest, 1000);
      const record = await coordination.readNamespacedLease({ namespace, name: 'race' });
      assert.equal(record.spec?.leaseTransitions, 1);
    } finally {
      await Promise.all(electors.map((e) => e.stop()));
    }
  });

  test('a holder that stops renewing is replaced once its lease duration has passed, not before', async () => {
    // A holder that died: it took the Lease and never renewed it.
    const body = new V1Lease();
    body.metadata = new V1ObjectMeta();
    body.metadata.name = 'abandoned';
    body.metadata.namespace = namespace;
    body.spec = new V1LeaseSpec();
    body.spec.holderIdentity = 'ghost';
    body.spec.leaseDurationSeconds = lease.durationMs / 1000;
    body.spec.renewTime = new V1MicroTime();
    body.spec.acquireTime = new V1MicroTime();
    await coordination.createNamespacedLease({ namespace, body });
    const log: string[] = [];
    const successor = elector('abandoned', 'successor', log);
    const started = performance.now();
    successor.start();
    try {
      await waitFor(
        'the successor to lead',
        () => Promise.resolve(successor.isLeader || undefined),
        {
          timeoutMs: 10_000,
          intervalMs: 10,
        },
      );
      const took = performance.now() - started;
      assert.ok(
        took >= lease.durationMs,
        `it waited ${took.toFixed(0)} ms, the lease lasts ${String(lease.durationMs)}`,
      );
      assert.ok(
        took < lease.durationMs + 4 * lease.retryPeriodMs,
        `taken over after ${took.toFixed(0)} ms`,
      );
      assert.equal(await holder('abandoned'), 'successor');
      assert.deepEqual(log, ['successor leads']);
    } finally {
      await successor.stop();
    }
  });

  test('a leader that cannot renew within the renew deadline stops leading, and one leads again once the API server is back', async () => {
    const log: string[] = [];
    const electors = [elector('outage', 'x', log), elector('outage', 'y', log)];
    for (const e of electors) e.start();
    try {
      await waitFor(
        'a leader',
        () => Promise.resolve(electors.some((e) => e.isLeader) || undefined),
        {
          timeoutMs: 10_000,
          intervalMs: 20,
        },
      );
      const leader = electors.find((e) => e.isLeader);
      assert.ok(leader);
      // kube-apiserver is down for seconds: longer than the renew deadline.
      const restarting = cluster.restartApiServer();
      await waitFor(
        'the leader to stop leading',
        () => Promise.resolve(!leader.isLeader || undefined),
        {
          timeoutMs: lease.renewDeadlineMs + 2000,
          intervalMs: 20,
        },
      );
      assert.ok(log.includes(`${leader.identity} stops`));
      await restarting;
      await waitFor(
        'a leader again',
        () => Promise.resolve(electors.some((e) => e.isLeader) || undefined),
        {
          timeoutMs: 15_000,
          intervalMs: 20,
        },
      );
      await neverTwo(electors, 1000);
    } finally {
      await Promise.all(electors.map((e) => e.stop()));
    }
  });
});

interface AuditEvent {
  readonly verb: string;
  readonly user: { readonly username: string };
  readonly objectRef?: { readonly subresource?: string; readonly name?: string };
  readonly responseStatus?: { readonly code?: number };
  readonly requestReceivedTimestamp: string;
}

/** The status writes (successful or not) the API server logged, in order. */
function statusWrites(): AuditEvent[] {
  let text = '';
  try {
    text = readFileSync(auditLog, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.objectRef?.subresource === 'status' && ['update', 'patch'].includes(e.verb));
}

/** What the chart grants the controller: read what it serves, write status, hold its Lease. */
const controllerRbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: switchyard-controller }
rules:
  - { apiGroups: [switchyard.io], resources: [inferencegraphs], verbs: [get, list, watch] }
  - { apiGroups: [switchyard.io], resources: [inferencegraphs/status], verbs: [get, update, patch] }
  - { apiGroups: [""], resources: [services], verbs: [get, list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch] }
  - { apiGroups: [gateway.networking.k8s.io], resources: [referencegrants], verbs: [get, list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: switchyard-controller }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: switchyard-controller }
subjects: [{ kind: Group, apiGroup: rbac.authorization.k8s.io, name: switchyard-controllers }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: switchyard-leader-election, namespace: ${namespace} }
rules:
  - { apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: switchyard-leader-election, namespace: ${namespace} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: switchyard-leader-election }
subjects: [{ kind: Group, apiGroup: rbac.authorization.k8s.io, name: switchyard-controllers }]
`;

/** A controller process (`switchyard serve --kubernetes`) as the chart runs it, on loopback. */
async function startController(
  name: string,
  groups: readonly string[],
): Promise<{ process: ServerProcess; xdsPort: number; statusPort: number }> {
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  const config = await cluster.kubeConfigForUser(name, groups);
  writeFileSync(kubeconfig, config.exportConfig());
  const xdsPort = await freePort();
  const statusPort = await freePort();
  const controller = startServerProcess(
    name,
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src', 'cli', 'main.ts'),
      'serve',
      '--kubernetes',
      `--kubeconfig=${kubeconfig}`,
      `--xds-port=${String(xdsPort)}`,
      `--status-port=${String(statusPort)}`,
      `--listen-port=${String(await freePort())}`,
      `--leader-election-namespace=${namespace}`,
      `--lease-duration=${String(lease.durationMs / 1000)}s`,
      `--renew-deadline=${String(lease.renewDeadlineMs)}ms`,
      `--retry-period=${String(lease.retryPeriodMs)}ms`,
      '--executor-workers=1',
    ],
    { env: { ...process.env, HOSTNAME: name } },
  );
  return { process: controller, xdsPort, statusPort };
}

/** The status code of GET `path` on a controller's status port; undefined while it is not up. */
async function probe(statusPort: number, path: string): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${String(statusPort)}${path}`);
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

describe('two controller replicas', () => {
  const replicas = new Map<string, ServerProcess>();
  const envoys: RunningEnvoy[] = [];
  const changes: string[] = [];
  let abortWatch: (() => void) | undefined;

  after(async () => {
    abortWatch?.();
    for (const envoy of envoys) await envoy.stop();
    for (const replica of replicas.values()) await replica.stop();
  });

  async function startReplica(name: string): Promise<{ statusPort: number }> {
    const {
      process: replica,
      xdsPort,
      statusPort,
    } = await startController(name, ['switchyard-controllers']);
    replicas.set(name, replica);
    // A replica that dies while its Envoy waits for config fails the test with its output.
    const envoy = await Promise.race([
      replica.exited,
      startEnvoyProcess({
        bootstrap: bootstrapConfig({
          nodeId: `envoy-of-${name}`,
          nodeCluster: 'switchyard',
          xdsAddress: '127.0.0.1',
          xdsPort,
          adminPort: await freePort(),
        }),
        name: `leader-${name}`,
      }),
    ]);
    envoys.push(envoy);
    return { statusPort };
  }

  test('only the leader writes status, one write per change; killed, it is replaced within the lease duration and no change is lost', async () => {
    await cluster.apply(readFileSync(join(root, CRD_FILE), 'utf8'));
    await cluster.waitForCrdEstablished('inferencegraphs.switchyard.io');
    // What the chart grants the controller: read what it serves, write status, hold its Lease.
    await cluster.apply(controllerRbac);
    const graphs = new Graphs(cluster.kubeConfig);
    const graph = (timeout: string) =>
      `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: watched, namespace: default }
spec:
  entry: m
  timeout: ${timeout}
  nodes:
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:9"] } }
`;
    await cluster.apply(graph('1s'));
    // Every status the resource goes through, as a watch sees it.
    const watch = await new Watch(cluster.kubeConfig).watch(
      '/apis/switchyard.io/v1alpha1/namespaces/default/inferencegraphs',
      {},
      (_phase, object: InferenceGraphObject) => {
        const status = JSON.stringify(object.status ?? null);
        if (changes.at(-1) !== status) changes.push(status);
      },
      () => undefined,
    );
    abortWatch = () => {
      watch.abort();
    };

    const a = await startReplica('replica-a');
    await waitFor(
      'replica-a to lead',
      async () =>
        ((await holder('switchyard-controller'))?.startsWith('replica-a-') ?? false) || undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        processes: [...replicas.values()],
      },
    );
    const b = await startReplica('replica-b');
    await graphs.condition('default', 'watched', 'Programmed', (c) => c.status === 'True');
    // Every replica serves xDS, so every one is ready, leader or not.
    for (const replica of [a, b]) {
      await waitFor(
        'the replica to be ready',
        async () => ((await probe(replica.statusPort, '/readyz')) === 200 ? true : undefined),
        { timeoutMs: 10_000, processes: [...replicas.values()] },
      );
    }
    await cluster.apply(graph('2s'));
    await graphs.condition('default', 'watched', 'Accepted', (c) => c.observedGeneration === 2);
    await graphs.condition(
      'default',
      'watched',
      'Programmed',
      (c) => c.status === 'True' && c.observedGeneration === 2,
    );
    // Both serve xDS and compute statuses; only the leader has written any.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const beforeKill = statusWrites();
    assert.ok(beforeKill.length > 0);
    assert.deepEqual(
      [...new Set(beforeKill.map((e) => e.user.username))],
      ['replica-a'],
      'only the leader wrote status',
    );

    const leaderA = replicas.get('replica-a');
    assert.ok(leaderA);
    const killed = Date.now();
    leaderA.child.kill('SIGKILL');
    // A change while nobody leads: the next leader must write it.
    await cluster.apply(graph('3s'));
    await waitFor(
      'replica-b to lead',
      async () =>
        ((await holder('switchyard-controller'))?.startsWith('replica-b-') ?? false) || undefined,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const tookOver = Date.now() - killed;
    assert.ok(
      tookOver < lease.durationMs + 4 * lease.retryPeriodMs,
      `replica-b leads ${String(tookOver)} ms after replica-a was killed (lease ${String(lease.durationMs)} ms)`,
    );
    await graphs.condition('default', 'watched', 'Accepted', (c) => c.observedGeneration === 3);
    await graphs.condition(
      'default',
      'watched',
      'Programmed',
      (c) => c.status === 'True' && c.observedGeneration === 3,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const writes = statusWrites();
    const byB = writes.filter((e) => e.user.username === 'replica-b');
    assert.ok(byB.length > 0, 'the new leader wrote');
    for (const write of writes.filter((e) => e.user.username === 'replica-a')) {
      assert.ok(
        Date.parse(write.requestReceivedTimestamp) <= killed,
        'nothing from the killed leader after',
      );
    }
    const succeeded = writes.filter((e) => e.responseStatus?.code === 200);
    // Each write that took is one change of status the watch saw: none lost, none twice.
    assert.equal(
      succeeded.length,
      changes.length - 1,
      `${String(succeeded.length)} writes for ${String(changes.length - 1)} changes:\n${changes.join('\n')}`,
    );
    process.stdout.write(
      `# takeover after ${String(tookOver)} ms; status writes: ${String(succeeded.length)} (${String(byB.length)} by the new leader), ${String(writes.length - succeeded.length)} refused\n`,
    );
  });
});

describe('probes', () => {
  test('/healthz answers as soon as the process serves; /readyz only once its informers have listed, which a controller the API server refuses never has', async () => {
    await cluster.apply(controllerRbac);
    const { process: controller, statusPort } = await startController('prober', [
      'switchyard-probers',
    ]);
    try {
      await waitFor(
        '/healthz to answer',
        async () => ((await probe(statusPort, '/healthz')) === 200 ? true : undefined),
        { timeoutMs: 30_000, processes: [controller] },
      );
      // No RBAC yet: every list is refused (403), and it tries again with a backoff.
      await waitFor(
        'a refused list',
        () => Promise.resolve(/403/.test(controller.output()) || undefined),
        { timeoutMs: 10_000, processes: [controller] },
      );
      for (let i = 0; i < 5; i++) {
        assert.equal(await probe(statusPort, '/readyz'), 503);
        assert.equal(await probe(statusPort, '/healthz'), 200);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await cluster.apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: switchyard-probers }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: switchyard-controller }
subjects: [{ kind: Group, apiGroup: rbac.authorization.k8s.io, name: switchyard-probers }]
`);
      // The backoff of a refused list is at most 10 s; the next list takes, and it is ready.
      await waitFor(
        '/readyz to answer 200',
        async () => ((await probe(statusPort, '/readyz')) === 200 ? true : undefined),
        { timeoutMs: 20_000, processes: [controller] },
      );
    } finally {
      await controller.stop();
    }
  });
});

describe('StatusWriter', () => {
  test('a status written from an outdated object is refused (409), read again and written once; a status the object already has is not written', async () => {
    await cluster.apply(readFileSync(join(root, CRD_FILE), 'utf8'));
    await cluster.waitForCrdEstablished('inferencegraphs.switchyard.io');
    const graph = (labels: string) => `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: contended, namespace: default, labels: { ${labels} } }
spec:
  entry: m
  nodes:
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:9"] } }
`;
    await cluster.apply(graph('step: one'));
    const graphs = new Graphs(cluster.kubeConfig);
    const outdated = await graphs.get('default', 'contended');
    // Someone else changes the object: the writer's copy is now behind.
    await cluster.apply(graph('step: two'));
    const desired: DesiredStatus = {
      observedGeneration: 1,
      conditions: [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: 'the spec is valid',
          observedGeneration: 1,
        },
      ],
    };
    const logged: string[] = [];
    const writer = new StatusWriter({
      kubeConfig: cluster.kubeConfig,
      fieldManager: 'contender',
      log: (line) => logged.push(line),
      mayWrite: () => true,
      source: { object: () => outdated, pass: () => () => desired },
      settleMs: 0,
    });
    writer.setUnits(() => ['default/contended']);
    try {
      writer.touch();
      await waitFor('the write', () => Promise.resolve(writer.writes === 1 || undefined), {
        timeoutMs: 10_000,
      });
      const written = await graphs.get('default', 'contended');
      assert.equal(written.metadata?.labels?.step, 'two', 'the newer object was written');
      assert.deepEqual(
        written.status?.conditions?.map(({ lastTransitionTime: _time, ...rest }) => rest),
        desired.conditions,
      );
      // Asked again with nothing changed: nothing is written.
      writer.touch();
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(writer.writes, 1);
      const codes = statusWrites()
        .filter((e) => e.objectRef?.name === 'contended')
        .map((e) => e.responseStatus?.code);
      assert.deepEqual(codes, [409, 200], 'one refused write, then one that took');
      assert.deepEqual(logged, [], 'a conflict is not an error to log');
    } finally {
      await writer.stop();
      await graphs.delete('default', 'contended');
    }
  });
});
