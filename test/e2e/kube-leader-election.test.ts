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
import { LeaderElector } from '../../src/controller/leader-election.ts';
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

  async function startReplica(name: string): Promise<{ xdsPort: number }> {
    const kubeconfig = join(dir, `${name}.kubeconfig`);
    const config = await cluster.kubeConfigForUser(name, ['switchyard-controllers']);
    writeFileSync(kubeconfig, config.exportConfig());
    const xdsPort = await freePort();
    const replica = startServerProcess(
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
        `--status-port=${String(await freePort())}`,
        `--listen-port=${String(await freePort())}`,
        `--leader-election-namespace=${namespace}`,
        `--lease-duration=${String(lease.durationMs / 1000)}s`,
        `--renew-deadline=${String(lease.renewDeadlineMs)}ms`,
        `--retry-period=${String(lease.retryPeriodMs)}ms`,
        '--executor-workers=1',
      ],
      { env: { ...process.env, HOSTNAME: name } },
    );
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
    return { xdsPort };
  }

  test('only the leader writes status, one write per change; killed, it is replaced within the lease duration and no change is lost', async () => {
    await cluster.apply(readFileSync(join(root, CRD_FILE), 'utf8'));
    await cluster.waitForCrdEstablished('inferencegraphs.switchyard.io');
    // What the chart grants the controller: read what it serves, write status, hold its Lease.
    await cluster.apply(`apiVersion: rbac.authorization.k8s.io/v1
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
`);
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

    await startReplica('replica-a');
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
    await startReplica('replica-b');
    await graphs.condition('default', 'watched', 'Programmed', (c) => c.status === 'True');
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
