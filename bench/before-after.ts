import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countArgument } from './count-argument.ts';
import { writeResults } from './results-file.ts';

/**
 * A change to the executor's data plane, before and after: bench/data-plane.ts
 * of a checkout of the base (`--before`, e.g. a git worktree of main) and of
 * this one, alternating, one round each in turn, on G3, G4, G6 and G7 with S
 * and S-direct; medians over the rounds. Each checkout's run starts its own
 * control plane, Envoy, executor (2 workers) and models. `--name` names the
 * change and the results file.
 *   npx tsx bench/before-after.ts --before ../main-checkout --name executor-http1 [--rounds 2] [--duration 5]
 */
const { values: args } = parseArgs({
  options: {
    before: { type: 'string' },
    name: { type: 'string' },
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
  },
});
if (args.before === undefined || !existsSync(join(args.before, 'bench', 'data-plane.ts'))) {
  process.stderr.write('--before names a checkout of the base, with bench/data-plane.ts\n');
  process.exit(2);
}
const { name } = args;
if (name === undefined || !/^[a-z0-9-]+$/.test(name)) {
  process.stderr.write(
    '--name names the change, e.g. executor-http1 (lowercase, digits, dashes)\n',
  );
  process.exit(2);
}
const rounds = countArgument('--rounds', args.rounds);
const checkouts = { before: args.before, after: join(import.meta.dirname, '..') };

interface Row {
  readonly mode: string;
  readonly graph: string;
  readonly system: string;
  readonly 'p50 ms': number;
  readonly 'p99 ms': number;
  readonly rps: number;
  readonly failed: number;
  readonly 'routing CPU µs/req': number;
}

const runs: Record<keyof typeof checkouts, Row[][]> = { before: [], after: [] };
for (let round = 1; round <= rounds; round++) {
  for (const [label, dir] of Object.entries(checkouts) as [keyof typeof checkouts, string][]) {
    const out = `${name}-${label}-partial`;
    process.stderr.write(`round ${String(round)}: ${label} (${dir})\n`);
    const run = spawnSync(
      'npx',
      [
        'tsx',
        'bench/data-plane.ts',
        '--graphs',
        'G3,G4,G6,G7',
        '--systems',
        'S,S-direct',
        '--modes',
        '200 rps,closed loop',
        '--rounds',
        '1',
        '--duration',
        args.duration,
        '--out',
        out,
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (run.status !== 0) throw new Error(`the ${label} run failed (${String(run.status)})`);
    const file = join(dir, 'bench', 'results', `${out}.json`);
    runs[label].push((JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function cell(
  label: keyof typeof checkouts,
  mode: string,
  graph: string,
  system: string,
  key: keyof Row,
): number {
  return median(
    runs[label].flatMap((rows) =>
      rows
        .filter((r) => r.mode === mode && r.graph === graph && r.system === system)
        .map((r) => Number(r[key])),
    ),
  );
}

/** Two significant decimals at most, as the data-plane tables print them. */
const shown = (value: number) => String(Math.round(value * 100) / 100);

const pair = (mode: string, graph: string, system: string, key: keyof Row) =>
  `${shown(cell('before', mode, graph, system, key))} → ${shown(cell('after', mode, graph, system, key))}`;

const rows = ['G3', 'G4', 'G6', 'G7'].flatMap((graph) =>
  ['S', 'S-direct'].map((system) => ({
    graph,
    system,
    'p50 ms (200 rps)': pair('200 rps', graph, system, 'p50 ms'),
    'p99 ms (200 rps)': pair('200 rps', graph, system, 'p99 ms'),
    'peak rps (closed loop)': pair('closed loop', graph, system, 'rps'),
    'routing CPU µs/req (closed loop)': pair('closed loop', graph, system, 'routing CPU µs/req'),
    'failed (before → after)': `${String(cell('before', '200 rps', graph, system, 'failed') + cell('before', 'closed loop', graph, system, 'failed'))} → ${String(cell('after', '200 rps', graph, system, 'failed') + cell('after', 'closed loop', graph, system, 'failed'))}`,
  })),
);
writeResults(
  name,
  rows,
  `Before → after ${name}: bench/data-plane.ts of the base checkout and of this one, alternating, ${String(rounds)} round(s) each, medians. Command: npx tsx bench/before-after.ts --before <checkout of main> --name ${name} --rounds ${String(rounds)}`,
);
