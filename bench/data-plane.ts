import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startEnvoyProcess, type RunningEnvoy } from '../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../src/envoy/bootstrap.ts';
import { freePort, freePortRun } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { goRouterGraphs, goRouterPath } from './data-plane/go-router.ts';
import { startNodeProcess, startProcess, stopNodeProcesses } from './data-plane/node-process.ts';
import { ingressEnvoyBootstrap, modelsEnvoyBootstrap } from './data-plane/plain-envoy.ts';
import { treeCpuSeconds } from './data-plane/process-cpu.ts';
import { directGraphName, referenceGraphs } from './data-plane/reference-graphs.ts';
import { attack, vegetaPath, type AttackReport } from './data-plane/vegeta.ts';
import { markdownTable, writeResults } from './results-file.ts';
import { startTestCollector } from '../test/support/otel-collector.ts';

/**
 * What each hop costs: the reference graphs G1–G7 through Switchyard (S),
 * against the same calls made directly (B0), through a plain, statically
 * configured Envoy (B1), and by a Go router shaped like KServe's
 * InferenceGraph router, bare (B2) and behind a plain Envoy as an ingress
 * (Envoy+B2); in one run, alternating, on the same model servers.
 * Open-loop rates (vegeta) for latency, closed loop for peak throughput, and
 * CPU seconds per 1,000 requests of every process, read from /proc.
 *
 * `npx tsx bench/data-plane.ts [--duration 5] [--rounds 2] [--graphs G3,G7] [--modes 'closed loop']
 *   [--systems S,B2,Envoy+B2] [--out NAME] [--workers 2] [--sockets] [--profile]`
 */

const SYSTEMS = ['B0', 'B1', 'B2', 'Envoy+B2', 'B2-default', 'S', 'S-direct'] as const;
type System = (typeof SYSTEMS)[number];
const DEFAULT_SYSTEMS: readonly System[] = ['B0', 'B1', 'B2', 'Envoy+B2', 'S', 'S-direct'];
/** Switchyard, with hops through Envoy (S) and direct hops (S-direct, spec.hops: direct). */
const SWITCHYARD: readonly System[] = ['S', 'S-direct'];
const ALL_GRAPHS = ['G1', 'G2', 'G3', 'G4', 'G5', 'G6', 'G7'];

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    graphs: { type: 'string', default: ALL_GRAPHS.join(',') },
    modes: { type: 'string' },
    systems: { type: 'string', default: DEFAULT_SYSTEMS.join(',') },
    // Where results go (bench/results/<out>.md and .json); by default data-plane, or
    // data-plane-partial (which git ignores) for a run of fewer graphs, modes or systems.
    out: { type: 'string' },
    // Executor processes; results of any other count than 2 go to a file of their own.
    workers: { type: 'string', default: '2' },
    // One executor process under --cpu-prof; the profile lands in bench/results/profiles.
    profile: { type: 'boolean', default: false },
    // Envoy and the executor meet on Unix sockets (switchyard --sockets); results go to a file of their own.
    sockets: { type: 'boolean', default: false },
    // Switchyard with its executor's metrics on (--metrics-port), or every request traced by
    // Envoy and the executor to a real OpenTelemetry Collector (--otlp-endpoint); off by default.
    observe: { type: 'string', default: 'off' },
  },
});

function listArgument<T extends string>(name: string, text: string, known: readonly T[]): T[] {
  const chosen = text.split(',').filter((item) => item !== '');
  const unknown = chosen.filter((item) => !known.includes(item as T));
  if (chosen.length === 0 || unknown.length > 0) {
    process.stderr.write(`${name} takes some of ${known.join(',')}, not ${text}\n`);
    process.exit(2);
  }
  return chosen as T[];
}

interface Mode {
  readonly name: string;
  readonly rate: number;
  readonly body: 'small' | 'large';
  readonly graphs: readonly string[];
}

const modes: readonly Mode[] = [
  { name: '200 rps', rate: 200, body: 'small', graphs: ALL_GRAPHS },
  { name: '1000 rps', rate: 1000, body: 'small', graphs: ALL_GRAPHS },
  { name: 'closed loop', rate: 0, body: 'small', graphs: ALL_GRAPHS },
  { name: '1 MiB at 20 rps', rate: 20, body: 'large', graphs: ['G1', 'G2', 'G3'] },
];
/** Where the comparison table takes latency from, and peak throughput and CPU from. */
const LATENCY_MODE = '200 rps';
const PEAK_MODE = 'closed loop';

const onlyGraphs = listArgument('--graphs', args.graphs, ALL_GRAPHS);
const systems = listArgument('--systems', args.systems, SYSTEMS);
const chosenModes = modes.filter(
  (m) =>
    args.modes === undefined ||
    listArgument(
      '--modes',
      args.modes,
      modes.map((n) => n.name),
    ).includes(m.name),
);
const durationSeconds = countArgument('--duration', args.duration);
const rounds = countArgument('--rounds', args.rounds);
const workers = countArgument('--workers', args.workers);
// The profile is of one executor process.
const executorWorkers = args.profile ? 1 : workers;
const [observe] = listArgument('--observe', args.observe, ['off', 'metrics', 'tracing'] as const);
const root = join(import.meta.dirname, '..');
const WARM_UP_SECONDS = 2;

/** The processes that route a request for each system: what its CPU per request counts. */
const routingProcesses: Record<System, readonly string[]> = {
  B0: ['orchestrator'],
  B1: ['plain envoy', 'orchestrator via envoy'],
  B2: ['go router'],
  'Envoy+B2': ['ingress envoy', 'go router'],
  'B2-default': ['go router, default transport'],
  S: ['envoy', 'executor'],
  'S-direct': ['envoy', 'executor'],
};

const children: ChildProcess[] = [];
const stoppers: (() => Promise<void>)[] = [];
const envoys: RunningEnvoy[] = [];

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

async function startEnvoy(bootstrap: Record<string, unknown>, name: string) {
  const envoy = await startEnvoyProcess({ bootstrap, name });
  envoys.push(envoy);
  return envoy;
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

/** The first output's data of the answer at `url`, once it answers 200 (within 30 s). */
function sameOutputs(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return JSON.stringify(a) === JSON.stringify(b);
  return (
    a.length === b.length &&
    a.every((value, i) => {
      const other: unknown = b[i];
      if (typeof value !== 'number' || typeof other !== 'number') return value === other;
      return Math.abs(value - other) <= 1e-6 * Math.max(1, Math.abs(other));
    })
  );
}

async function outputsOf(url: string, body: Buffer): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const reply = await request(url, { method: 'POST', body });
      const text = await reply.body.text();
      if (reply.statusCode === 200) {
        return (JSON.parse(text) as { outputs?: { data?: unknown }[] }).outputs?.[0]?.data;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Run {
  readonly report: AttackReport;
  /** CPU µs per request, per process. */
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
const loadBefore = loadavg();

const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-dp-'));
try {
  const vegeta = await vegetaPath();
  const goRouter = systems.some((s) => s.includes('B2')) ? await goRouterPath() : undefined;
  const models = await startNode('bench/data-plane/models.ts', []);
  const modelsAddress = `127.0.0.1:${String(models.port)}`;
  const processes: Record<string, number> = { models: models.pid };
  const urls: Record<string, Partial<Record<System, string>>> = {};
  const graphPath = (graph: string) => `/${graph.toLowerCase()}`;
  const addUrls = (system: System, url: (graph: string) => string) => {
    for (const graph of ALL_GRAPHS) urls[graph] = { ...urls[graph], [system]: url(graph) };
  };

  if (systems.includes('B0') || systems.includes('B1')) {
    const plainPort = await freePort();
    const plain = await startEnvoy(
      modelsEnvoyBootstrap(plainPort, await freePort(), models.port),
      'plain',
    );
    const direct = await startNode('bench/data-plane/orchestrator.ts', [`http://${modelsAddress}`]);
    const viaPlain = await startNode('bench/data-plane/orchestrator.ts', [
      `http://127.0.0.1:${String(plainPort)}`,
    ]);
    Object.assign(processes, {
      'plain envoy': plain.pid,
      orchestrator: direct.pid,
      'orchestrator via envoy': viaPlain.pid,
    });
    const plainModels = `http://127.0.0.1:${String(plainPort)}/v2/models`;
    // G1 and G2 need no client: B0 calls the model, B1 has Envoy route (and split) to it.
    const modelPaths: Record<string, [string, string]> = { G1: ['m', 'm'], G2: ['m-a', 'split'] };
    addUrls('B0', (graph) => {
      const model = modelPaths[graph]?.[0];
      return model
        ? `http://${modelsAddress}/v2/models/${model}/infer`
        : `http://127.0.0.1:${String(direct.port)}${graphPath(graph)}`;
    });
    addUrls('B1', (graph) => {
      const model = modelPaths[graph]?.[1];
      return model
        ? `${plainModels}/${model}/infer`
        : `http://127.0.0.1:${String(viaPlain.port)}${graphPath(graph)}`;
    });
  }

  if (goRouter) {
    const graphsFile = join(dir, 'go-router-graphs.json');
    writeFileSync(graphsFile, JSON.stringify(goRouterGraphs(`http://${modelsAddress}`)));
    const startGoRouter = async (idlePerHost: number) => {
      const started = await startProcess(goRouter, [
        '-graphs',
        graphsFile,
        '-idle-per-host',
        String(idlePerHost),
      ]);
      children.push(started.child);
      return started;
    };
    if (systems.includes('B2') || systems.includes('Envoy+B2')) {
      // 100 idle connections per host, as many as the default transport keeps in all: every
      // model sits behind the one address of the bench's model server, and the default's 2
      // would close and redial most connections under load.
      const router = await startGoRouter(100);
      processes['go router'] = router.pid;
      addUrls('B2', (graph) => `http://127.0.0.1:${String(router.port)}${graphPath(graph)}`);
      if (systems.includes('Envoy+B2')) {
        const ingressPort = await freePort();
        const ingress = await startEnvoy(
          ingressEnvoyBootstrap(ingressPort, await freePort(), router.port),
          'ingress',
        );
        processes['ingress envoy'] = ingress.pid;
        addUrls(
          'Envoy+B2',
          (graph) => `http://127.0.0.1:${String(ingressPort)}${graphPath(graph)}`,
        );
      }
    }
    if (systems.includes('B2-default')) {
      const router = await startGoRouter(0);
      processes['go router, default transport'] = router.pid;
      addUrls(
        'B2-default',
        (graph) => `http://127.0.0.1:${String(router.port)}${graphPath(graph)}`,
      );
    }
  }

  if (systems.some((system) => SWITCHYARD.includes(system))) {
    for (const [file, yaml] of Object.entries(referenceGraphs(modelsAddress))) {
      writeFileSync(join(dir, file), yaml);
    }
    for (const [file, yaml] of Object.entries(referenceGraphs(modelsAddress, 'direct'))) {
      writeFileSync(join(dir, `direct-${file}`), yaml);
    }
    const link = args.sockets ? ['--sockets', join(dir, 'sockets')] : [];
    const collector = observe === 'tracing' ? await startTestCollector() : undefined;
    if (collector) stoppers.push(() => collector.stop());
    const traced = collector ? ['--otlp-endpoint', collector.otlpHttpUrl] : [];
    const metered = observe === 'metrics' ? ['--metrics-port', String(await freePort())] : [];
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
        ...traced,
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
        // As deployed: an xDS client of the control plane, for plans too large for a header.
        '--xds-address',
        '127.0.0.1',
        '--xds-port',
        String(ports.xds),
        ...link,
        ...traced,
        ...metered,
      ],
      // Every worker's start line.
      new RegExp(`(?:executor pid \\d+ on \\S+,[^]*?){${String(executorWorkers)}}`),
      args.profile
        ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench', 'results', 'profiles')}`]
        : [],
    );
    const envoy = await startEnvoy(
      bootstrapConfig({
        nodeId: 'bench',
        nodeCluster: 'switchyard',
        xdsAddress: '127.0.0.1',
        xdsPort: ports.xds,
        adminPort: await freePort(),
      }),
      'bench',
    );
    Object.assign(processes, {
      envoy: envoy.pid,
      executor: executor.pid,
      'control plane': controlPlane.pid,
    });
    addUrls(
      'S',
      (graph) => `http://127.0.0.1:${String(ports.listen)}/v2/models/${graph.toLowerCase()}/infer`,
    );
    addUrls(
      'S-direct',
      (graph) =>
        `http://127.0.0.1:${String(ports.listen)}/v2/models/${directGraphName(graph.toLowerCase())}/infer`,
    );
  }

  // 180,000 floats make a V2 request just over 1 MiB.
  const bodies = { small: payload(4), large: payload(180_000) };
  const bodyFiles = { small: join(dir, 'small.json'), large: join(dir, 'large.json') };
  writeFileSync(bodyFiles.small, bodies.small);
  writeFileSync(bodyFiles.large, bodies.large);
  process.stdout.write(`large payload: ${String(bodies.large.length)} bytes\n`);

  // Every system must do the same work: each answers each graph with the same outputs, to
  // float32's precision (Switchyard keeps an FP32 mean in FP32, the baselines average in doubles).
  for (const graph of onlyGraphs) {
    let first: { system: System; outputs: unknown } | undefined;
    for (const system of systems) {
      const url = urls[graph]?.[system];
      if (url === undefined) continue;
      const outputs = await outputsOf(url, bodies.small);
      first ??= { system, outputs };
      if (!sameOutputs(outputs, first.outputs)) {
        throw new Error(
          `${system} answers ${graph} with outputs ${JSON.stringify(outputs)}, ${first.system} with ${JSON.stringify(first.outputs)}`,
        );
      }
    }
  }
  // Measure steady state: every process (each executor worker, the clients and routers, the
  // Envoys) first runs each graph's code until the JIT has compiled it. Without this the
  // first run of a graph carried the warm-up in its tail (G3's p90 was 41 ms, its p50 4.9).
  for (const graph of onlyGraphs) {
    for (const system of systems) {
      const url = urls[graph]?.[system];
      if (url === undefined) continue;
      await attack(vegeta, bodyFiles.small, { url, rate: 0, durationSeconds: WARM_UP_SECONDS });
    }
  }

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
    for (const graph of mode.graphs.filter((g) => onlyGraphs.includes(g))) {
      for (let round = 0; round < rounds; round++) {
        // Alternate the order, so drift over time does not favour one system.
        const order = round % 2 === 0 ? systems : [...systems].reverse();
        for (const system of order) {
          const url = urls[graph]?.[system];
          if (url === undefined) continue;
          await quiet();
          const before = cpuNow();
          const report = await attack(vegeta, bodyFiles[mode.body], {
            url,
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
          const key = `${mode.name}|${graph}|${system}`;
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

  const switchyard = envoys.find((e) => e.pid === processes.envoy);
  if (switchyard) {
    // What Envoy saw of the executor, on both its clusters (HTTP/2 and HTTP/1.1): stream
    // failures, timeouts, refused and retried requests, connections closed.
    const executorStats = {
      ...(await switchyard.stats('ext_proc.switchyard_executor.streams')),
      ...(await switchyard.stats('ext_proc.switchyard_executor.message_timeouts')),
      ...(await switchyard.stats('switchyard-executor(-http1)?\\.upstream_rq_retry')),
      ...(await switchyard.stats('switchyard-executor(-http1)?\\.upstream_rq_5')),
      ...(await switchyard.stats('switchyard-executor(-http1)?\\.upstream_cx_destroy')),
    };
    for (const [name, value] of Object.entries(executorStats)) {
      if (value > 0) process.stdout.write(`  ${name}: ${String(value)}\n`);
    }
  }

  const of = (mode: string, graph: string, system: System) =>
    runs.get(`${mode}|${graph}|${system}`) ?? [];
  const stat = (runsOf: Run[], pick: (r: AttackReport) => number) =>
    median(runsOf.map((run) => pick(run.report)));
  const routingCpu = (runsOf: Run[], system: System) =>
    median(
      runsOf.map((run) =>
        routingProcesses[system].reduce((sum, name) => sum + (run.cpu[name] ?? 0), 0),
      ),
    );
  const rows: Record<string, string | number>[] = [];
  for (const mode of chosenModes) {
    for (const graph of mode.graphs.filter((g) => onlyGraphs.includes(g))) {
      for (const system of systems) {
        const measured = of(mode.name, graph, system);
        if (measured.length === 0) continue;
        const cpuOf = (name: string) => Math.round(median(measured.map((r) => r.cpu[name] ?? 0)));
        rows.push({
          mode: mode.name,
          graph,
          system,
          'p50 ms': round2(stat(measured, (r) => r.p50Ms)),
          'p90 ms': round2(stat(measured, (r) => r.p90Ms)),
          'p99 ms': round2(stat(measured, (r) => r.p99Ms)),
          rps: Math.round(stat(measured, (r) => r.throughput)),
          failed: measured.reduce(
            (sum, run) => sum + Math.round(run.report.requests * (1 - run.report.success)),
            0,
          ),
          'routing CPU µs/req': Math.round(routingCpu(measured, system)),
          'of which': routingProcesses[system]
            .map((name) => `${name} ${String(cpuOf(name))}`)
            .join(' · '),
          'models µs/req': cpuOf('models'),
          'control plane µs/req': SWITCHYARD.includes(system)
            ? round2(cpuOf('control plane'))
            : '—',
        });
      }
    }
  }

  // S against the Go router, bare and behind an ingress: latency at LATENCY_MODE, peak
  // throughput and CPU per request at PEAK_MODE.
  const summary = (system: System, graph: string) => {
    const latency = of(LATENCY_MODE, graph, system);
    const peak = of(PEAK_MODE, graph, system);
    return {
      p50: latency.length > 0 ? stat(latency, (r) => r.p50Ms) : NaN,
      p99: latency.length > 0 ? stat(latency, (r) => r.p99Ms) : NaN,
      rps: peak.length > 0 ? stat(peak, (r) => r.throughput) : NaN,
      cpu: peak.length > 0 ? routingCpu(peak, system) : NaN,
    };
  };
  const show = (n: number, digits = 2) => (Number.isNaN(n) ? '—' : n.toFixed(digits));
  const described = (s: ReturnType<typeof summary>) =>
    `${show(s.p50)} · ${show(s.p99)} · ${show(s.rps, 0)} · ${show(s.cpu, 0)}`;
  const ratios = (s: ReturnType<typeof summary>, b: ReturnType<typeof summary>) =>
    `${show(s.p50 / b.p50)} · ${show(s.p99 / b.p99)} · ${show(s.rps / b.rps)} · ${show(s.cpu / b.cpu)}`;
  const comparison: Record<string, string>[] = [];
  const measuredSwitchyard = SWITCHYARD.filter((system) => systems.includes(system));
  if (measuredSwitchyard.length > 0) {
    for (const graph of onlyGraphs) {
      const row: Record<string, string> = { graph };
      for (const system of systems) row[system] = described(summary(system, graph));
      for (const system of measuredSwitchyard) {
        const s = summary(system, graph);
        if (systems.includes('B2')) row[`${system} ÷ B2`] = ratios(s, summary('B2', graph));
        if (!systems.includes('Envoy+B2')) continue;
        const ingress = summary('Envoy+B2', graph);
        row[`${system} ÷ (Envoy+B2)`] = ratios(s, ingress);
        const missed = [
          s.p50 > ingress.p50 && 'p50',
          s.rps < ingress.rps && 'peak',
          s.cpu > 1.5 * ingress.cpu && 'CPU',
        ].filter((miss) => miss !== false);
        row[`${system}: goal`] = missed.length === 0 ? 'met' : `missed: ${missed.join(', ')}`;
      }
      comparison.push(row);
    }
  }

  const loadAfter = loadavg();
  const defaultRun =
    args.modes === undefined &&
    onlyGraphs.length === ALL_GRAPHS.length &&
    systems.length === DEFAULT_SYSTEMS.length &&
    DEFAULT_SYSTEMS.every((s) => systems.includes(s)) &&
    !args.profile;
  const name =
    args.out ??
    `${defaultRun ? 'data-plane' : 'data-plane-partial'}${workers === 2 ? '' : `-${String(workers)}-workers`}${args.sockets ? '-sockets' : ''}${observe === 'off' ? '' : `-${observe ?? ''}`}`;
  const command = process.argv
    .slice(2)
    .map((arg) => (/^[\w.,=+/-]+$/.test(arg) ? arg : `'${arg}'`))
    .join(' ');
  writeResults(
    name,
    rows,
    [
      '# Data plane: Switchyard against direct calls, plain Envoy and a Go router',
      '',
      `Reference graphs G1 (model), G2 (90/10 split), G3 (transformer → model → output transformer), G4 (3-way ensemble, mean), G5 (switch on a JSON field), G6 (3-way ensemble, user combiner), G7 (two-step sequence a → b). S is Switchyard (Envoy + executor with ${String(workers)} worker process${workers === 1 ? '' : 'es'}${args.sockets ? ', meeting Envoy on Unix sockets' : ''}${observe === 'metrics' ? ", the executor's metrics on (--metrics-port)" : observe === 'tracing' ? ', every request traced by Envoy and the executor to a real OpenTelemetry Collector (--otlp-endpoint)' : ''}), its executor calling the nodes through Envoy's hop listener; S-direct the same graphs with direct hops (spec.hops: direct: the executor calls the models itself). B0 calls the model directly (G1, G2) or runs the same calls from a hand-written Node client; B1 does the same through a statically configured Envoy. B2 is bench/go-router, a Go router shaped like KServe's InferenceGraph router (net/http, one process; 100 idle connections per host), bare; Envoy+B2 is B2 behind a plain static Envoy, as an ingress; B2-default is B2 with net/http's DefaultTransport unchanged (2 idle connections per host). vegeta v12.13.0, ${String(durationSeconds)} s per run, ${String(rounds)} rounds alternating the systems' order, medians across rounds; CPU from /proc per request, of the processes that route (Envoy + executor for S). Everything (load generator, Envoys, routers, executor, models) shares the machine's cores. Load average (1 min) ${loadBefore[0]?.toFixed(2) ?? '?'} before the run, ${loadAfter[0]?.toFixed(2) ?? '?'} after it.`,
      '',
      `\`npx tsx bench/data-plane.ts ${command}\``,
      ...(comparison.length > 0
        ? [
            '',
            `## S and S-direct against B2 and Envoy+B2`,
            '',
            `Each cell: p50 · p99 ms at ${LATENCY_MODE}, peak rps and routing CPU µs per request at ${PEAK_MODE}. The goal (issue 21): Switchyard's p50 at or below Envoy+B2's, its peak at or above, its CPU within 1.5×.`,
            '',
            markdownTable(comparison),
            '',
            '## Every run',
          ]
        : []),
    ].join('\n'),
  );
  if (comparison.length > 0) process.stdout.write(`\n${markdownTable(comparison)}\n`);
} finally {
  await Promise.all(envoys.map((envoy) => envoy.stop()));
  await stopNodeProcesses(children);
  for (const stop of stoppers) await stop();
  rmSync(dir, { recursive: true, force: true });
}
