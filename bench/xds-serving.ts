import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GraphCompiler } from '../src/controller/compile.ts';
import { bootstrapConfig, XDS_CLUSTER } from '../src/envoy/bootstrap.ts';
import type { EnvoyResource } from '../src/envoy/resource-set.ts';
import { ROUTE } from '../src/envoy/type-urls.ts';
import { loadGraphDocuments } from '../src/graph/load.ts';
import { envoyProtos } from '../src/protos/envoy-protos.ts';
import { startEnvoyProcess } from '../src/runtime/envoy-process.ts';
import { freePort } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';
import { goXdsPath } from './xds-serving/go-xds.ts';
import { ServerProcess, cpuNs } from './xds-serving/server-process.ts';
import { defaultListener } from '../test/support/listener.ts';

/**
 * Serving one changed route table with N graphs loaded: Switchyard's xDS
 * server against go-control-plane's (a LinearCache per type; optionally a
 * SnapshotCache), each in a process of its own serving the very resources
 * Switchyard compiled, to one real Envoy (SotW, then delta). Each server
 * times the change itself, from handing the parsed table to its cache to
 * receiving Envoy's ACK of it; CPU is the server process's (every thread,
 * from /proc schedstat) from handing it the change until it is quiet after
 * the ACK; bytes are what Envoy received on its xDS connection meanwhile.
 * `npx tsx bench/xds-serving.ts 1000 10000 [--rounds 3] [--changes 10] [--snapshot]`
 * (`--servers switchyard --xds sotw` to run one of them, e.g. to profile it;
 * `--out NAME`: bench/results/NAME.md instead of xds-serving.md;
 * `--baseline <dir>`: also Switchyard as checked out in dir, with this
 * bench's xds-serving/switchyard-server.ts copied in, for before and after)
 */
const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '3' },
    changes: { type: 'string', default: '10' },
    snapshot: { type: 'boolean', default: false },
    servers: { type: 'string' },
    baseline: { type: 'string' },
    xds: { type: 'string', default: 'sotw,delta' },
    out: { type: 'string', default: 'xds-serving' },
  },
});
const sizes = positionals.map((size) => countArgument('graph count', size));
const rounds = countArgument('--rounds', options.rounds);
const changes = countArgument('--changes', options.changes);
const servers = options.servers?.split(',') ?? [
  'switchyard',
  ...(options.baseline === undefined ? [] : ['switchyard-baseline']),
  'go-linear',
  ...(options.snapshot ? ['go-snapshot'] : []),
];
const protocols = options.xds.split(',').map((name) => name === 'delta');
const root = envoyProtos();
const goXds = await goXdsPath();
const loadBefore = loadavg();

interface Sample {
  readonly ms: number;
  readonly cpuMs: number;
  readonly bytes: number;
}

/** The exported resources and one changed route table per change, in a temp dir. */
function exportResources(size: number): { dir: string; resourcesFile: string; tables: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-xds-serving-'));
  const graphs = Array.from(
    { length: size },
    (_, i) => loadGraphDocuments(`g${String(i)}`, generatedGraph(i)).graphs,
  );
  const compiler = new GraphCompiler(root, defaultListener());
  const base = compiler.compile(graphs.flat()).resources;
  const exported: Record<string, Record<string, EnvoyResource>> = {};
  for (const [typeUrl, byName] of base) exported[typeUrl] = Object.fromEntries(byName);
  const resourcesFile = join(dir, 'resources.json');
  writeFileSync(resourcesFile, JSON.stringify(exported));
  const tables: string[] = [];
  for (let change = 0; change <= changes; change++) {
    // Graph 1 is a 90/10 split: move its weights, one step per change.
    graphs[1] = loadGraphDocuments(
      'g1',
      generatedGraph(1).replace('weight: 90', `weight: ${String(50 + change)}`),
    ).graphs;
    const next = compiler.compile(graphs.flat()).resources;
    const changed: EnvoyResource[] = [];
    for (const [typeUrl, byName] of next) {
      for (const [name, resource] of byName) {
        if (JSON.stringify(resource) === JSON.stringify(base.get(typeUrl)?.get(name))) continue;
        if (typeUrl !== ROUTE) throw new Error(`a weight change changed ${typeUrl} ${name}`);
        changed.push(resource);
      }
    }
    if (changed.length !== 1) throw new Error(`${String(changed.length)} route tables changed`);
    const file = join(dir, `change-${String(change)}.json`);
    writeFileSync(file, JSON.stringify(changed[0]));
    tables.push(file);
  }
  return { dir, resourcesFile, tables };
}

async function rxBytes(adminUrl: string): Promise<number> {
  const name = `cluster.${XDS_CLUSTER}.upstream_cx_rx_bytes_total`;
  const text = await (
    await fetch(`${adminUrl}/stats?filter=^${name.replaceAll('.', '\\.')}$`)
  ).text();
  return Number(text.split(':')[1]);
}

async function ready(adminUrl: string, timeoutMs: number): Promise<void> {
  const started = performance.now();
  for (;;) {
    const status = await fetch(`${adminUrl}/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`Envoy was not ready in ${String(timeoutMs)} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Until neither Envoy nor the server did anything for a while: no ACK for
 * `forMs`, and under 5% of a core each over the last second. An Envoy busy
 * with ten thousand tables can go seconds between ACKs.
 */
async function quiet(
  server: ServerProcess,
  envoyPid: number,
  forMs: number,
  timeoutMs: number,
): Promise<void> {
  const started = performance.now();
  const cpu = () => [cpuNs(envoyPid), server.cpuNs()];
  let last = cpu();
  let lastAt = performance.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = performance.now();
    if (now - started > timeoutMs)
      throw new Error(`Envoy did not settle in ${String(timeoutMs)} ms`);
    if (now - lastAt < 1000) continue;
    const current = cpu();
    const busy = current.some((ns, i) => (ns - (last[i] ?? 0)) / 1e6 > 0.05 * (now - lastAt));
    last = current;
    lastAt = now;
    if (!busy && server.routeAcks > 0 && now - server.lastAckAt >= forMs) return;
  }
}

async function quietAfterChange(server: ServerProcess, forMs: number): Promise<void> {
  while (performance.now() - server.lastAckAt < forMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measure(
  kind: string,
  resourcesFile: string,
  tables: readonly string[],
  delta: boolean,
): Promise<{ samples: Sample[]; readyS: number }> {
  const server = kind.startsWith('switchyard')
    ? new ServerProcess(process.execPath, [
        '--import',
        'tsx',
        join(
          kind === 'switchyard' ? join(import.meta.dirname, '..') : (options.baseline ?? ''),
          'bench',
          'xds-serving',
          'switchyard-server.ts',
        ),
        resourcesFile,
      ])
    : new ServerProcess(goXds, [
        '-resources',
        resourcesFile,
        '-cache',
        kind === 'go-linear' ? 'linear' : 'snapshot',
      ]);
  const port = await server.port;
  const started = performance.now();
  const envoy = await startEnvoyProcess({
    bootstrap: bootstrapConfig({
      nodeId: 'bench',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: port,
      adminPort: await freePort(),
      delta,
    }),
    name: `xds-serving-${kind}`,
    // Ten thousand graphs take longer than startEnvoyProcess waits on a busy machine.
    untilAdmin: true,
  });
  const samples: Sample[] = [];
  let readyS = Number.NaN;
  try {
    await ready(envoy.adminUrl, 600_000);
    await quiet(server, envoy.pid, 3000, 900_000);
    readyS = (server.lastAckAt - started) / 1000;
    // A first change, not counted, that whatever runs once (lazy compiles, first encodes) runs on.
    await server.change(tables.at(-1) ?? '', 60_000);
    await quiet(server, envoy.pid, 500, 60_000);
    for (const table of tables.slice(0, -1)) {
      const cpuBefore = server.cpuNs();
      const bytesBefore = await rxBytes(envoy.adminUrl);
      const ms = await server.change(table, 60_000);
      await quietAfterChange(server, 300);
      samples.push({
        ms,
        cpuMs: (server.cpuNs() - cpuBefore) / 1e6,
        bytes: (await rxBytes(envoy.adminUrl)) - bytesBefore,
      });
    }
  } finally {
    await envoy.stop();
    await server.stop();
  }
  return { samples, readyS };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

const rows: Record<string, string | number>[] = [];
const raw: Record<string, unknown>[] = [];
for (const size of sizes.length > 0 ? sizes : [1000, 10000]) {
  const { dir, resourcesFile, tables } = exportResources(size);
  for (const delta of protocols) {
    const byServer = new Map<string, { samples: Sample[]; ready: number[] }>(
      servers.map((s) => [s, { samples: [], ready: [] }]),
    );
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so neither always meets the same state of the machine.
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const kind of order) {
        const { samples, readyS } = await measure(kind, resourcesFile, tables, delta);
        const mine = byServer.get(kind);
        mine?.samples.push(...samples);
        mine?.ready.push(readyS);
        raw.push({
          graphs: size,
          xds: delta ? 'delta' : 'sotw',
          server: kind,
          round,
          readyS,
          samples,
        });
        process.stdout.write(
          `${String(size)} ${delta ? 'delta' : 'sotw'} round ${String(round)} ${kind}: ${samples.map((s) => s.ms.toFixed(1)).join(' ')} ms\n`,
        );
      }
    }
    const ours = byServer.get('switchyard')?.samples ?? [];
    const oursMs = median(ours.map((s) => s.ms));
    const oursCpu = median(ours.map((s) => s.cpuMs));
    for (const [kind, { samples }] of byServer) {
      const ms = median(samples.map((s) => s.ms));
      const cpu = median(samples.map((s) => s.cpuMs));
      rows.push({
        graphs: size,
        xds: delta ? 'delta' : 'sotw',
        server: kind,
        changes: samples.length,
        'cache→ACK p50 ms': ms.toFixed(1),
        'p90 ms': (
          [...samples.map((s) => s.ms)].sort((a, b) => a - b)[Math.floor(samples.length * 0.9)] ??
          Number.NaN
        ).toFixed(1),
        'server CPU/change ms': cpu.toFixed(1),
        'bytes to Envoy': median(samples.map((s) => s.bytes)),
        'Switchyard ÷ this (time · CPU)':
          kind === 'switchyard'
            ? ''
            : `${(oursMs / ms).toFixed(2)} · ${(oursCpu / cpu).toFixed(2)}`,
      });
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
const loadAfter = loadavg();

writeResults(
  options.out,
  rows,
  `# Serving one changed route table: Switchyard against go-control-plane\n\nN generated graphs (bench/generate-graphs.ts) compiled by Switchyard; the same resources served by Switchyard's xDS server (bench/xds-serving/switchyard-server.ts: SnapshotCache + AdsServer as the control plane builds them) and by go-control-plane v0.14.0 (bench/go-xds: ADS server over a LinearCache per type${options.snapshot ? ', or one SnapshotCache' : ''}), each in its own process, to one Envoy 1.40 (SotW, then delta). A change is graph 1's split weights moving, which changes one route table. **cache→ACK**: each server's own clock, from handing the parsed table to its cache (Switchyard: the setSnapshot call, after the new route map is built; Go: UpdateResource) to receiving Envoy's ACK of the response carrying it; no file watching, no compile. **CPU/change**: the server process, every thread (/proc schedstat), from before the change is handed over until 300 ms without an ACK after it (it includes reading and parsing the one-table file). **bytes**: what Envoy's xDS connection received meanwhile (${XDS_CLUSTER} upstream_cx_rx_bytes_total). ${String(rounds)} rounds per row, alternating the servers' order, fresh processes each, ${String(changes)} changes each; medians over all changes. Everything shares the machine's 2 cores with other work: load average (1 min) ${loadBefore[0]?.toFixed(1) ?? '?'} before, ${loadAfter[0]?.toFixed(1) ?? '?'} after. \`npx tsx bench/xds-serving.ts ${sizes.join(' ')} --rounds ${String(rounds)} --changes ${String(changes)}${options.snapshot ? ' --snapshot' : ''}\``,
);
writeFileSync(
  join(import.meta.dirname, 'results', `${options.out}-samples.json`),
  `${JSON.stringify(raw)}\n`,
);
