import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../test/support/ports.ts';
import { countArgument, countOption } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { median } from './data-plane/closed-loop.ts';
import { writeResults } from './results-file.ts';

/**
 * How fast Switchyard starts and how much memory it holds, run from the
 * TypeScript sources through tsx (as bin/switchyard.js did before the
 * production build) against the compiled dist/ (`npm run build`, done first).
 * The control plane (`serve`) on N generated graphs: time from spawn until
 * its first snapshot is ready (it says so when it listens; /status must then
 * list all N graphs), and its resident memory then and at its peak. The
 * executor (one worker): time until it listens, and its memory.
 * Each measure runs several times, alternating tsx and dist, fresh processes:
 *   npx tsx bench/start-time.ts 1000 10000 [--runs 5]
 */
const root = join(import.meta.dirname, '..');
const runs = countOption('--runs', 5);
const sizes = process.argv
  .slice(2)
  .filter((_, i, all) => all[i] !== '--runs' && all[i - 1] !== '--runs')
  .map((size) => countArgument('graph count', size));

const variants = {
  tsx: [process.execPath, '--import', 'tsx', join(root, 'src', 'cli', 'main.ts')],
  dist: [process.execPath, join(root, 'bin', 'switchyard.js')],
} as const;
type Variant = keyof typeof variants;

/** Resident and peak resident memory of `pid`, MB, from /proc. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface Start {
  readonly seconds: number;
  readonly rss: number;
  readonly peak: number;
}

/** Starts `argv` of `variant`, waits for `ready` in its output, measures, checks, and stops it. */
async function measureStart(
  variant: Variant,
  argv: readonly string[],
  ready: RegExp,
  check: () => Promise<void> = async () => {},
): Promise<Start> {
  const [command = '', ...prefix] = variants[variant];
  const started = performance.now();
  const child = spawn(command, [...prefix, ...argv], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const seconds = await new Promise<number>((resolve, reject) => {
      let seen = '';
      const watch = (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-16_384);
        if (ready.test(seen)) resolve((performance.now() - started) / 1000);
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
      child.once('exit', (code) => {
        reject(new Error(`${argv.join(' ')} (${variant}) exited with ${String(code)}:\n${seen}`));
      });
      setTimeout(() => {
        reject(new Error(`${argv.join(' ')} (${variant}) not ready in 120 s:\n${seen}`));
      }, 120_000).unref();
    });
    const memory = memoryOf(child.pid ?? 0);
    await check();
    return { seconds, ...memory };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function controlPlaneStart(variant: Variant, dir: string, graphs: number): Promise<Start> {
  const status = await freePort();
  return measureStart(
    variant,
    [
      'serve',
      '--graphs',
      dir,
      '--xds-port',
      String(await freePort()),
      '--status-port',
      String(status),
      '--executor-workers',
      '1',
    ],
    // Printed once the first snapshot of every graph is in the cache.
    /xDS \(ADS\) listening/,
    async () => {
      const reply = await request(`http://127.0.0.1:${String(status)}/status`);
      const served = ((await reply.body.json()) as { graphs: unknown[] }).graphs.length;
      if (served !== graphs)
        throw new Error(`serve (${variant}) served ${String(served)} of ${String(graphs)} graphs`);
    },
  );
}

async function executorStart(variant: Variant): Promise<Start> {
  return measureStart(
    variant,
    ['executor', '--workers', '1', '--port', String(await freePort())],
    /executor pid \d+ on/,
  );
}

const load = loadavg();
process.stdout.write('building dist/ (npm run build)...\n');
execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });

const rows: Record<string, string | number>[] = [];
const summarize = (what: string, graphs: number | string, measured: Record<Variant, Start[]>) => {
  for (const variant of Object.keys(variants) as Variant[]) {
    const of = measured[variant];
    const seconds = of.map((s) => s.seconds);
    rows.push({
      process: what,
      graphs,
      run: variant,
      'start s': median(seconds).toFixed(2),
      'start s, fastest–slowest': `${Math.min(...seconds).toFixed(2)}–${Math.max(...seconds).toFixed(2)}`,
      'RSS MB': Math.round(median(of.map((s) => s.rss))),
      'peak RSS MB': Math.round(median(of.map((s) => s.peak))),
    });
    process.stdout.write(`${Object.values(rows.at(-1) ?? {}).join(' · ')}\n`);
  }
};

const alternate = async (measure: (variant: Variant) => Promise<Start>) => {
  const measured: Record<Variant, Start[]> = { tsx: [], dist: [] };
  for (let run = 0; run < runs; run++) {
    const order: Variant[] = run % 2 === 0 ? ['tsx', 'dist'] : ['dist', 'tsx'];
    for (const variant of order) measured[variant].push(await measure(variant));
  }
  return measured;
};

for (const size of sizes.length > 0 ? sizes : [1000, 10000]) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-start-'));
  try {
    for (let i = 0; i < size; i++)
      writeFileSync(join(dir, `g${String(i)}.yaml`), generatedGraph(i));
    summarize('control plane', size, await alternate((v) => controlPlaneStart(v, dir, size)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
summarize('executor (1 worker)', '—', await alternate(executorStart));

/**
 * What the build's descriptor saves: Envoy's protos loaded in a fresh process
 * from the compiled loader, parsed from the .proto files (as before the
 * descriptor, and as the sources still do) or read from the descriptor.
 */
function protosLoad(from: 'parse' | 'descriptor'): Start {
  const loader = join(root, 'dist', 'protos', 'envoy-protos.js');
  const script = `
    const protos = await import(${JSON.stringify(loader)});
    const { readFileSync } = await import('node:fs');
    const started = performance.now();
    ${from === 'parse' ? 'protos.parseEnvoyProtos();' : 'protos.rootFromDescriptor(JSON.parse(readFileSync(protos.ENVOY_DESCRIPTOR_PATH, "utf8")));'}
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(JSON.stringify({ seconds, rss: process.memoryUsage().rss / 2 ** 20 }));`;
  const measured = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
  ) as { seconds: number; rss: number };
  return { ...measured, peak: measured.rss };
}
const protos: Record<'parse' | 'descriptor', Start[]> = { parse: [], descriptor: [] };
for (let run = 0; run < runs; run++) {
  for (const from of run % 2 === 0
    ? (['parse', 'descriptor'] as const)
    : (['descriptor', 'parse'] as const)) {
    protos[from].push(protosLoad(from));
  }
}
for (const [from, of] of Object.entries(protos)) {
  const seconds = of.map((s) => s.seconds);
  rows.push({
    process: `Envoy protos, ${from === 'parse' ? 'parsed from .proto files' : 'read from the descriptor'}`,
    graphs: '—',
    run: 'dist',
    'start s': median(seconds).toFixed(2),
    'start s, fastest–slowest': `${Math.min(...seconds).toFixed(2)}–${Math.max(...seconds).toFixed(2)}`,
    'RSS MB': Math.round(median(of.map((s) => s.rss))),
    'peak RSS MB': '—',
  });
}

writeResults(
  'start-time',
  rows,
  `# Start time and memory: tsx against the production build\n\nThe control plane (\`serve\`) on generated graphs (model, 90/10 split, header switch, mirror in turn), time from spawn until its first snapshot is ready (and /status lists every graph), resident memory then and at its peak; the executor with one worker, until it listens; Envoy's protos alone, loaded in a fresh process by the compiled loader, parsed or from the build's descriptor (time of the load, RSS of the process after it). tsx runs the sources (\`node --import tsx src/cli/main.ts\`, what bin/switchyard.js did before the build); dist runs \`bin/switchyard.js\` on the compiled dist/. ${String(runs)} runs of each, alternating, fresh processes; medians. Load average (1 min) ${load[0]?.toFixed(2) ?? '?'} at the start. \`npx tsx bench/start-time.ts ${process.argv.slice(2).join(' ')}\``,
);
