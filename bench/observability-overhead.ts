import http2 from 'node:http2';
import { startTestCollector } from '../test/support/otel-collector.ts';
import { countOption } from './count-argument.ts';
import { measureClosedLoop, median } from './data-plane/closed-loop.ts';
import { directReferencePlan } from './data-plane/direct-plan.ts';
import {
  startNodeProcess,
  stopNodeProcesses,
  type NodeProcess,
} from './data-plane/node-process.ts';
import { treeCpuSeconds } from './data-plane/process-cpu.ts';
import { executorRequest } from './data-plane/executor-request.ts';
import { writeResults } from './results-file.ts';

/**
 * What metrics and tracing cost the executor: three executor processes (one
 * worker each) run the same executor graphs (G3, G4, G6 of the data-plane
 * bench) with nothing on, with --metrics-port, and with --otlp-endpoint to a
 * real OpenTelemetry Collector, alternating in one run. Requests come as
 * from Envoy's upstream route (HTTP/2, plan in the header); the executor
 * calls the bench's model server directly. CPU of each executor from /proc.
 *   npx tsx bench/observability-overhead.ts [--requests 10000] [--rounds 3]
 */
const requests = countOption('--requests', 10_000);
const rounds = countOption('--rounds', 3);
const concurrency = 16;

const collector = await startTestCollector();
const models = await startNodeProcess('bench/data-plane/models.ts', []);
const modelsUrl = `http://127.0.0.1:${String(models.port)}`;
const pattern = /executor pid \d+ on [^:]+:(\d+)/;
const base = ['executor', '--workers', '1', '--port', '0', '--hop-url', modelsUrl];
const variants: [string, NodeProcess][] = [
  ['off', await startNodeProcess('src/cli/main.ts', base, pattern)],
  ['metrics', await startNodeProcess('src/cli/main.ts', [...base, '--metrics-port', '0'], pattern)],
  [
    'tracing',
    await startNodeProcess(
      'src/cli/main.ts',
      [...base, '--otlp-endpoint', collector.otlpHttpUrl],
      pattern,
    ),
  ],
];
const body = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
);
const sessions = new Map(
  variants.map(([name, executor]) => [
    name,
    http2.connect(`http://127.0.0.1:${String(executor.port)}`),
  ]),
);

const rows = [];
try {
  for (const graph of ['G3', 'G4', 'G6']) {
    const plan = JSON.stringify(directReferencePlan(graph));
    const path = `/${graph.toLowerCase()}`;
    const runs = new Map<string, { cpu: number; rps: number }[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, executor] of variants) {
        const session = sessions.get(name);
        if (!session) throw new Error(name);
        const run = await measureClosedLoop(() => executorRequest(session, path, plan, body), {
          requests,
          concurrency,
          cpuSeconds: () => treeCpuSeconds(executor.pid),
        });
        runs.set(name, [...(runs.get(name) ?? []), run]);
      }
    }
    const cpu = (name: string) => median((runs.get(name) ?? []).map((r) => r.cpu));
    const rps = (name: string) => median((runs.get(name) ?? []).map((r) => r.rps));
    rows.push({
      graph,
      'CPU µs/request off': Math.round(cpu('off')),
      'metrics on': `${String(Math.round(cpu('metrics')))} (${((cpu('metrics') / cpu('off') - 1) * 100).toFixed(0)}%)`,
      'tracing on': `${String(Math.round(cpu('tracing')))} (${((cpu('tracing') / cpu('off') - 1) * 100).toFixed(0)}%)`,
      'rps off': Math.round(rps('off')),
      'rps metrics': Math.round(rps('metrics')),
      'rps tracing': Math.round(rps('tracing')),
    });
  }
} finally {
  for (const session of sessions.values()) session.close();
  await stopNodeProcesses([...variants.map(([, executor]) => executor.child), models.child]);
  await collector.stop();
}

writeResults(
  'observability-overhead',
  rows,
  `# Metrics and tracing on the executor\n\n${String(requests)} requests per run, ${String(concurrency)} in flight, ${String(rounds)} rounds alternating off / metrics / tracing, medians; CPU of each executor process (one worker) from /proc. Tracing exports every span (no sampling) to a real OpenTelemetry Collector over OTLP/HTTP. No Envoy. \`npx tsx bench/observability-overhead.ts --requests ${String(requests)} --rounds ${String(rounds)}\``,
);
