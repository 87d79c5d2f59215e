import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startEnvoyProcess, type RunningEnvoy } from '../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../src/envoy/bootstrap.ts';
import { freePort, freePortRun } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { startNodeProcess, stopNodeProcesses } from './data-plane/node-process.ts';
import { treeCpuSeconds } from './data-plane/process-cpu.ts';
import { referenceGraphs } from './data-plane/reference-graphs.ts';
import { attack, vegetaPath, type AttackReport } from './data-plane/vegeta.ts';
import { writeResults } from './results-file.ts';

/**
 * What each hop costs: the reference graphs G1–G6 through Switchyard (S),
 * against the same calls made directly (B0) and through a plain, statically
 * configured Envoy (B1), in one run, alternating, on the same model servers.
 * Open-loop rates (vegeta) for latency, closed loop for peak throughput, and
 * CPU seconds per 1,000 requests of every process, read from /proc.
 *
 * `npx tsx bench/data-plane.ts [--duration 5] [--rounds 2] [--graphs G3,G5] [--modes 'closed loop'] [--workers 2] [--sockets]`
 */

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    graphs: { type: 'string', default: 'G1,G2,G3,G4,G5,G6' },
    modes: { type: 'string' },
    // Executor processes; results of any other count than 2 go to a file of their own.
    workers: { type: 'string', default: '2' },
    // One executor process under --cpu-prof; the profile lands in bench/results/profiles.
    profile: { type: 'boolean', default: false },
    // Envoy and the executor meet on Unix sockets (switchyard --sockets); results go to a file of their own.
    sockets: { type: 'boolean', default: false },
  },
});
const onlyGraphs = new Set(args.graphs.split(','));
const durationSeconds = countArgument('--duration', args.duration);
const rounds = countArgument('--rounds', args.rounds);
const workers = countArgument('--workers', args.workers);
// The profile is of one executor process.
const executorWorkers = args.profile ? 1 : workers;
const root = join(import.meta.dirname, '..');

const children: ChildProcess[] = [];

async function startNode(
  script: string,
  argv: readonly string[],
  ready?: RegExp,
  nodeFlags?: readonly string[],
) {
  const started = await startNodeProcess(script, argv, ready, nodeFlags);
  children.push(started.child);
  return started;
}

function staticEnvoyBootstrap(listenPort: number, adminPort: number, modelsPort: number) {
  const cluster = (name: string) => ({
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: { socket_address: { address: '127.0.0.1', port_value: modelsPort } },
              },
            },
          ],
        },
      ],
    },
  });
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'plain',
          address: { socket_address: { address: '127.0.0.1', port_value: listenPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'plain',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [
                            {
                              match: { path: '/v2/models/split/infer' },
                              route: {
                                weighted_clusters: {
                                  clusters: [
                                    { name: 'models-a', weight: 90 },
                                    { name: 'models-b', weight: 10 },
                                  ],
                                },
                                prefix_rewrite: '/v2/models/m-a/infer',
                                timeout: '30s',
                              },
                            },
                            {
                              match: { prefix: '/' },
                              route: { cluster: 'models', timeout: '30s' },
                            },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type':
                            'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [cluster('models'), cluster('models-a'), cluster('models-b')],
    },
  };
}

function payload(values: number): Buffer {
  const data = Array.from(
    { length: values },
    (_, i) => Math.round(((i % 1000) / 1000) * 1e6) / 1e6,
  );
  return Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape: [values], datatype: 'FP32', data }],
      parameters: { tier: 'gold' },
    }),
  );
}

async function waitUntilOk(url: string, body: Buffer): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const reply = await request(url, { method: 'POST', body });
      await reply.body.text();
      if (reply.statusCode === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Variant = 'B0' | 'B1' | 'S';
interface Mode {
  readonly name: string;
  readonly rate: number;
  readonly body: 'small' | 'large';
  readonly graphs: readonly string[];
}

const allGraphs = ['G1', 'G2', 'G3', 'G4', 'G5', 'G6'];
const WARM_UP_SECONDS = 2;
const modes: readonly Mode[] = [
  { name: '200 rps', rate: 200, body: 'small', graphs: allGraphs },
  { name: '1000 rps', rate: 1000, body: 'small', graphs: allGraphs },
  { name: 'closed loop', rate: 0, body: 'small', graphs: allGraphs },
  { name: '1 MiB at 20 rps', rate: 20, body: 'large', graphs: ['G1', 'G2', 'G3'] },
];

const chosenModes =
  args.modes === undefined ? modes : modes.filter((m) => args.modes?.split(',').includes(m.name));

interface Run {
  readonly report: AttackReport;
  /** CPU ms per 1,000 requests, per process. */
  readonly cpu: Record<string, number>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-dp-'));
let envoy: RunningEnvoy | undefined;
let plain: RunningEnvoy | undefined;
try {
  const vegeta = await vegetaPath();
  const models = await startNode('bench/data-plane/models.ts', []);
  const modelsAddress = `127.0.0.1:${String(models.port)}`;

  const plainPort = await freePort();
  plain = await startEnvoyProcess({
    bootstrap: staticEnvoyBootstrap(plainPort, await freePort(), models.port),
    name: 'plain',
  });
  const direct = await startNode('bench/data-plane/orchestrator.ts', [`http://${modelsAddress}`]);
  const viaPlain = await startNode('bench/data-plane/orchestrator.ts', [
    `http://127.0.0.1:${String(plainPort)}`,
  ]);

  for (const [file, yaml] of Object.entries(referenceGraphs(modelsAddress))) {
    writeFileSync(join(dir, file), yaml);
  }
  const link = args.sockets ? ['--sockets', join(dir, 'sockets')] : [];
  const ports = {
    listen: await freePort(),
    hops: await freePort(),
    executor: await freePortRun(executorWorkers),
    xds: await freePort(),
    status: await freePort(),
  };
  const controlPlane = await startNode(
    'src/cli/main.ts',
    [
      'serve',
      '--graphs',
      dir,
      '--xds-port',
      String(ports.xds),
      '--listen-port',
      String(ports.listen),
      '--hop-port',
      String(ports.hops),
      '--executor-port',
      String(ports.executor),
      '--executor-workers',
      String(executorWorkers),
      '--status-port',
      String(ports.status),
      ...link,
    ],
    /xDS \(ADS\) listening/,
  );
  const executor = await startNode(
    'src/cli/main.ts',
    [
      'executor',
      '--port',
      String(ports.executor),
      '--hop-url',
      `http://127.0.0.1:${String(ports.hops)}`,
      '--workers',
      String(executorWorkers),
      ...link,
    ],
    // Every worker's start line.
    new RegExp(`(?:executor pid \\d+ on \\S+,[^]*?){${String(executorWorkers)}}`),
    args.profile
      ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench', 'results', 'profiles')}`]
      : [],
  );
  envoy = await startEnvoyProcess({
    bootstrap: bootstrapConfig({
      nodeId: 'bench',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: ports.xds,
      adminPort: await freePort(),
    }),
    name: 'bench',
  });

  const switchyard = `http://127.0.0.1:${String(ports.listen)}/v2/models`;
  const plainModels = `http://127.0.0.1:${String(plainPort)}/v2/models`;
  const urls: Record<string, Record<Variant, string>> = {
    G1: {
      B0: `http://${modelsAddress}/v2/models/m/infer`,
      B1: `${plainModels}/m/infer`,
      S: `${switchyard}/g1/infer`,
    },
    G2: {
      B0: `http://${modelsAddress}/v2/models/m-a/infer`,
      B1: `${plainModels}/split/infer`,
      S: `${switchyard}/g2/infer`,
    },
  };
  for (const graph of ['G3', 'G4', 'G5', 'G6']) {
    const path = `/${graph.toLowerCase()}`;
    urls[graph] = {
      B0: `http://127.0.0.1:${String(direct.port)}${path}`,
      B1: `http://127.0.0.1:${String(viaPlain.port)}${path}`,
      S: `${switchyard}/${graph.toLowerCase()}/infer`,
    };
  }

  // 180,000 floats make a V2 request just over 1 MiB.
  const bodies = { small: payload(4), large: payload(180_000) };
  const bodyFiles = {
    small: join(dir, 'small.json'),
    large: join(dir, 'large.json'),
  };
  writeFileSync(bodyFiles.small, bodies.small);
  writeFileSync(bodyFiles.large, bodies.large);
  process.stdout.write(`large payload: ${String(bodies.large.length)} bytes\n`);
  for (const variants of Object.values(urls)) {
    for (const url of Object.values(variants)) await waitUntilOk(url, bodies.small);
  }
  // Measure steady state: every process (each executor worker, the hand-written clients, the
  // Envoys) first runs each graph's code until the JIT has compiled it. Without this the
  // first run of a graph carried the warm-up in its tail (G3's p90 was 41 ms, its p50 4.9).
  for (const [graph, variants] of Object.entries(urls)) {
    if (!onlyGraphs.has(graph)) continue;
    for (const url of Object.values(variants)) {
      await attack(vegeta, bodyFiles.small, {
        url,
        rate: 0,
        durationSeconds: WARM_UP_SECONDS,
      });
    }
  }

  const processes: Record<string, number> = {
    envoy: envoy.pid,
    executor: executor.pid,
    'control plane': controlPlane.pid,
    models: models.pid,
    'plain envoy': plain.pid,
    orchestrator: direct.pid,
    'orchestrator via envoy': viaPlain.pid,
  };
  const cpuNow = () =>
    Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, treeCpuSeconds(pid)]));
  const totalCpu = () => Object.values(cpuNow()).reduce((sum, seconds) => sum + seconds, 0);
  // A run's CPU window opens only once the previous run's work (GC, closing connections) is
  // done: under 1% of a core across every process for 200 ms, or after 5 s at most.
  const quiet = async () => {
    const deadline = performance.now() + 5_000;
    let last = totalCpu();
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const now = totalCpu();
      if (now - last < 0.002) return;
      last = now;
    }
  };

  const runs = new Map<string, Run[]>();
  for (const mode of chosenModes) {
    for (const graph of mode.graphs.filter((g) => onlyGraphs.has(g))) {
      const graphUrls = urls[graph];
      if (!graphUrls) continue;
      for (let round = 0; round < rounds; round++) {
        // Alternate the order, so drift over time does not favour one variant.
        const order: Variant[] = round % 2 === 0 ? ['B0', 'B1', 'S'] : ['S', 'B1', 'B0'];
        for (const variant of order) {
          await quiet();
          const before = cpuNow();
          const report = await attack(vegeta, bodyFiles[mode.body], {
            url: graphUrls[variant],
            rate: mode.rate,
            durationSeconds,
          });
          const after = cpuNow();
          const cpu = Object.fromEntries(
            Object.keys(processes).map((name) => [
              name,
              (((after[name] ?? 0) - (before[name] ?? 0)) * 1e6) / Math.max(1, report.requests),
            ]),
          );
          const key = `${mode.name}|${graph}|${variant}`;
          runs.set(key, [...(runs.get(key) ?? []), { report, cpu }]);
          process.stdout.write(
            `${key}: p50 ${report.p50Ms.toFixed(2)} ms, p99 ${report.p99Ms.toFixed(2)} ms, ` +
              `${report.throughput.toFixed(0)} rps, success ${(report.success * 100).toFixed(2)}%` +
              `${report.errors.length > 0 ? `, errors: ${report.errors.slice(0, 3).join('; ')}` : ''}\n`,
          );
        }
      }
    }
  }

  // What Envoy saw of the executor: stream failures, timeouts, refused and retried streams.
  const executorStats = {
    ...(await envoy.stats('ext_proc.switchyard_executor.streams')),
    ...(await envoy.stats('ext_proc.switchyard_executor.message_timeouts')),
    ...(await envoy.stats('switchyard-executor.upstream_rq_retry')),
    ...(await envoy.stats('switchyard-executor.upstream_rq_5')),
    ...(await envoy.stats('switchyard-executor.upstream_cx_destroy')),
  };
  for (const [name, value] of Object.entries(executorStats)) {
    if (value > 0) process.stdout.write(`  ${name}: ${String(value)}\n`);
  }

  const rows: Record<string, string | number>[] = [];
  for (const mode of chosenModes) {
    for (const graph of mode.graphs.filter((g) => onlyGraphs.has(g))) {
      const of = (variant: Variant) => runs.get(`${mode.name}|${graph}|${variant}`) ?? [];
      const stat = (variant: Variant, pick: (r: AttackReport) => number) =>
        median(of(variant).map((run) => pick(run.report)));
      const cpu = (variant: Variant, process: string) =>
        median(of(variant).map((run) => run.cpu[process] ?? 0));
      const failed = (variant: Variant) =>
        of(variant).reduce(
          (sum, run) => sum + Math.round(run.report.requests * (1 - run.report.success)),
          0,
        );
      const s50 = stat('S', (r) => r.p50Ms);
      const s99 = stat('S', (r) => r.p99Ms);
      rows.push({
        mode: mode.name,
        graph,
        'B0 p50/p99 ms': `${round2(stat('B0', (r) => r.p50Ms))} / ${round2(stat('B0', (r) => r.p99Ms))}`,
        'B1 p50/p99 ms': `${round2(stat('B1', (r) => r.p50Ms))} / ${round2(stat('B1', (r) => r.p99Ms))}`,
        'S p50/p90/p99 ms': `${round2(s50)} / ${round2(stat('S', (r) => r.p90Ms))} / ${round2(s99)}`,
        'S/B1 p50': round2(s50 / stat('B1', (r) => r.p50Ms)),
        'S/B1 p99': round2(s99 / stat('B1', (r) => r.p99Ms)),
        'S−B0 p50/p99 ms': `${round2(s50 - stat('B0', (r) => r.p50Ms))} / ${round2(s99 - stat('B0', (r) => r.p99Ms))}`,
        'rps B0/B1/S': `${String(Math.round(stat('B0', (r) => r.throughput)))} / ${String(Math.round(stat('B1', (r) => r.throughput)))} / ${String(Math.round(stat('S', (r) => r.throughput)))}`,
        'failed B0/B1/S': `${String(failed('B0'))} / ${String(failed('B1'))} / ${String(failed('S'))}`,
        'S CPU µs/req envoy·executor·models': `${String(Math.round(cpu('S', 'envoy')))} · ${String(Math.round(cpu('S', 'executor')))} · ${String(Math.round(cpu('S', 'models')))}`,
        'B1 CPU µs/req envoy·orchestrator·models': `${String(Math.round(cpu('B1', 'plain envoy')))} · ${String(Math.round(cpu('B1', 'orchestrator via envoy')))} · ${String(Math.round(cpu('B1', 'models')))}`,
        'B0 CPU µs/req orchestrator·models': `${String(Math.round(cpu('B0', 'orchestrator')))} · ${String(Math.round(cpu('B0', 'models')))}`,
        'S control plane µs/req': round2(cpu('S', 'control plane')),
      });
    }
  }
  const partial = args.profile || args.modes !== undefined || onlyGraphs.size < allGraphs.length;
  writeResults(
    `${partial ? 'data-plane-partial' : 'data-plane'}${workers === 2 ? '' : `-${String(workers)}-workers`}${args.sockets ? '-sockets' : ''}`,
    rows,
    [
      '# Data plane: each hop against direct calls (B0) and plain Envoy (B1)',
      '',
      `Reference graphs G1 (model), G2 (90/10 split), G3 (transformer → model → output transformer), G4 (3-way ensemble, mean), G5 (switch on a JSON field), G6 (3-way ensemble, user combiner). S is Switchyard (Envoy + executor with ${String(workers)} worker process${workers === 1 ? '' : 'es'}${args.sockets ? ', meeting Envoy on Unix sockets' : ''}). B0 calls the model directly (G1, G2) or runs the same calls from a hand-written Node client (G3–G6); B1 does the same through a statically configured Envoy. vegeta v12.13.0, ${String(durationSeconds)} s per run, ${String(rounds)} rounds alternating B0/B1/S, medians across rounds; CPU from /proc per 1,000 requests shown per request. Everything (load generator, Envoys, executor, models) shares the 2 cores.`,
      '',
      '`npx tsx bench/data-plane.ts`',
    ].join('\n'),
  );
} finally {
  await envoy?.stop();
  await plain?.stop();
  await stopNodeProcesses(children);
  rmSync(dir, { recursive: true, force: true });
}
