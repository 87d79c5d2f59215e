import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PLAN_HEADER } from '../src/plan/execution.ts';
import { freePortRun } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { median } from './data-plane/closed-loop.ts';
import { directReferencePlan } from './data-plane/direct-plan.ts';
import {
  startNodeProcess,
  stopNodeProcesses,
  type NodeProcess,
} from './data-plane/node-process.ts';
import { machineBusySeconds, treeCpuSeconds } from './data-plane/process-cpu.ts';
import { attack, vegetaPath } from './data-plane/vegeta.ts';
import { writeResults } from './results-file.ts';

/**
 * Does the executor's peak throughput grow with its workers? Each worker
 * count runs as an executor of its own, taking HTTP/2 requests with the
 * plan in their header on every worker's port in turn (as Envoy's executor
 * cluster sends them), from vegeta at as many requests as it can send, and
 * calling the benchmark's models directly. The counts take turns, round
 * after round. Beside each count's throughput, the table shows how many
 * cores the executor kept busy and how many the whole machine did: where
 * the machine is full before the executor's workers are, the run says what
 * the machine can do, not what more workers could.
 *   npx tsx bench/executor-scaling.ts [--workers 1,2] [--model-processes 1] [--duration 5] [--rounds 2] [--connections 64]
 */
const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2' },
    'model-processes': { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
  },
});
const workerCounts = args.workers.split(',').map((count) => countArgument('--workers', count));
const durationSeconds = countArgument('--duration', args.duration);
const rounds = countArgument('--rounds', args.rounds);
const connections = countArgument('--connections', args.connections);
countArgument('--model-processes', args['model-processes']);
const cores = availableParallelism();

const vegeta = await vegetaPath();
const dir = mkdtempSync(join(tmpdir(), 'switchyard-scaling-'));
const bodyFile = join(dir, 'body.json');
writeFileSync(
  bodyFile,
  JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
);

const started: NodeProcess[] = [];
const rows: Record<string, string | number>[] = [];
try {
  const models = await startNodeProcess('bench/data-plane/models.ts', [
    '--processes',
    args['model-processes'],
  ]);
  started.push(models);
  const executors = new Map<number, { process: NodeProcess; ports: number[] }>();
  for (const workers of workerCounts) {
    const first = await freePortRun(workers);
    const executor = await startNodeProcess(
      'src/cli/main.ts',
      [
        'executor',
        ...['--workers', String(workers), '--port', String(first)],
        ...['--hop-url', `http://127.0.0.1:${String(models.port)}`],
      ],
      // Ready once every worker has said it listens.
      new RegExp(`(?:executor pid \\d+ on [^:]+:(\\d+)[^]*?){${String(workers)}}`),
    );
    started.push(executor);
    executors.set(workers, {
      process: executor,
      ports: Array.from({ length: workers }, (_, i) => first + i),
    });
  }

  for (const graph of ['G3', 'G4', 'G6']) {
    const plan = JSON.stringify(directReferencePlan(graph));
    const measured = new Map<
      number,
      { rps: number; cpu: number; busy: number; machine: number }[]
    >();
    for (let round = -1; round < rounds; round++) {
      for (const workers of round % 2 === 0 ? workerCounts : [...workerCounts].reverse()) {
        const executor = executors.get(workers);
        if (!executor) continue;
        const cpuBefore = treeCpuSeconds(executor.process.pid);
        const machineBefore = machineBusySeconds();
        const wallBefore = performance.now();
        const report = await attack(vegeta, bodyFile, {
          url: executor.ports.map((port) => `http://127.0.0.1:${String(port)}/${graph}`),
          headers: { [PLAN_HEADER]: plan },
          h2c: true,
          rate: 0,
          workers: connections,
          // The first round only warms every process up.
          durationSeconds: round < 0 ? 2 : durationSeconds,
        });
        if (report.success < 1) {
          throw new Error(`${graph} with ${String(workers)} workers: ${report.errors.join('; ')}`);
        }
        if (round < 0) continue;
        const wall = (performance.now() - wallBefore) / 1000;
        const cpu = treeCpuSeconds(executor.process.pid) - cpuBefore;
        measured.set(workers, [
          ...(measured.get(workers) ?? []),
          {
            rps: report.throughput,
            cpu: (cpu * 1e6) / report.requests,
            busy: cpu / wall,
            machine: (machineBusySeconds() - machineBefore) / wall,
          },
        ]);
        process.stdout.write(
          `${graph} ${String(workers)} worker${workers === 1 ? '' : 's'}: ${report.throughput.toFixed(0)} rps, executor ${(cpu / wall).toFixed(2)} cores\n`,
        );
      }
    }
    const baseline = median((measured.get(workerCounts[0] ?? 1) ?? []).map((run) => run.rps));
    for (const workers of workerCounts) {
      const runs = measured.get(workers) ?? [];
      const rps = median(runs.map((run) => run.rps));
      rows.push({
        graph,
        workers,
        'requests/s': Math.round(rps),
        [`× ${String(workerCounts[0])} worker${workerCounts[0] === 1 ? '' : 's'}`]: (
          rps / baseline
        ).toFixed(2),
        'executor CPU µs/req': Math.round(median(runs.map((run) => run.cpu))),
        'executor cores busy': median(runs.map((run) => run.busy)).toFixed(2),
        [`machine cores busy (of ${String(cores)})`]: median(
          runs.map((run) => run.machine),
        ).toFixed(2),
      });
    }
  }
} finally {
  await stopNodeProcesses(started.map((node) => node.child));
  rmSync(dir, { recursive: true, force: true });
}

writeResults(
  'executor-scaling',
  rows,
  [
    '# The executor: peak throughput by worker count',
    '',
    `Each worker count is an executor of its own; vegeta sends as many HTTP/2 requests as ${String(connections)} workers can, the plan in their header, to every worker's port in turn, for ${String(durationSeconds)} s; the executor calls the models directly (${args['model-processes']} model process${args['model-processes'] === '1' ? '' : 'es'}). ${String(rounds)} rounds, the counts taking turns, after a warm-up round; medians. Executor CPU from /proc, the machine's from /proc/stat. Where the machine's cores are all busy before the executor's, the ratio shows what the machine can do, not what more workers could. \`npx tsx bench/executor-scaling.ts\``,
  ].join('\n'),
);
