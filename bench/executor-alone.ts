import http2 from 'node:http2';
import { Pool } from 'undici';
import { countOption } from './count-argument.ts';
import { measureClosedLoop, median } from './data-plane/closed-loop.ts';
import { directReferencePlan } from './data-plane/direct-plan.ts';
import { startNodeProcess, stopNodeProcesses } from './data-plane/node-process.ts';
import { treeCpuSeconds } from './data-plane/process-cpu.ts';
import { executorRequest } from './data-plane/executor-request.ts';
import { writeResults } from './results-file.ts';

/**
 * The executor as a process of its own (one worker), taking requests as
 * Envoy sends them (HTTP/2, the plan in its header) and calling the
 * benchmark's model server, against the baselines' hand-written
 * orchestrator process (HTTP/1.1 in, the same calls out), in one run,
 * alternating. This process is the client; no Envoy, and only three
 * processes share the 2 cores, so the CPU each server spends per request,
 * read from /proc, is closer to what it costs on cores of its own than in
 * `bench/data-plane.ts`, where Envoy, vegeta and five Node processes share
 * them.
 *   npx tsx bench/executor-alone.ts [--requests 20000] [--rounds 3]
 */
const requests = countOption('--requests', 20_000);
const rounds = countOption('--rounds', 3);
const concurrency = 16;

const models = await startNodeProcess('bench/data-plane/models.ts', []);
const modelsUrl = `http://127.0.0.1:${String(models.port)}`;
const executor = await startNodeProcess(
  'src/cli/main.ts',
  ['executor', '--workers', '1', '--port', '0', '--hop-url', modelsUrl],
  /executor pid \d+ on [^:]+:(\d+)/,
);
const orchestrator = await startNodeProcess('bench/data-plane/orchestrator.ts', [modelsUrl]);

const body = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
);
const session = http2.connect(`http://127.0.0.1:${String(executor.port)}`);
const pool = new Pool(`http://127.0.0.1:${String(orchestrator.port)}`, {
  connections: concurrency,
  pipelining: 1,
});

/** One request to the executor, as Envoy's upstream route would send it. */
function toExecutor(path: string, plan: string): Promise<void> {
  return executorRequest(session, path, plan, body);
}

async function toOrchestrator(path: string): Promise<void> {
  const reply = await pool.request({
    path,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });
  await reply.body.dump();
  if (reply.statusCode !== 200) {
    throw new Error(`the orchestrator answered ${String(reply.statusCode)}`);
  }
}

/** CPU µs per request of the server process `pid`, and requests per second. */
function measure(pid: number, run: () => Promise<unknown>) {
  return measureClosedLoop(run, { requests, concurrency, cpuSeconds: () => treeCpuSeconds(pid) });
}

const rows = [];
try {
  for (const name of ['G3', 'G4', 'G6']) {
    const plan = JSON.stringify(directReferencePlan(name));
    const path = `/${name.toLowerCase()}`;
    const executorRuns = [];
    const orchestratorRuns = [];
    for (let round = 0; round < rounds; round++) {
      executorRuns.push(await measure(executor.pid, () => toExecutor(path, plan)));
      orchestratorRuns.push(await measure(orchestrator.pid, () => toOrchestrator(path)));
    }
    const executorCpu = median(executorRuns.map((r) => r.cpu));
    const orchestratorCpu = median(orchestratorRuns.map((r) => r.cpu));
    rows.push({
      graph: name,
      'executor CPU µs per request': Math.round(executorCpu),
      'orchestrator CPU µs per request': Math.round(orchestratorCpu),
      'executor / orchestrator': (executorCpu / orchestratorCpu).toFixed(2),
      'executor rps': Math.round(median(executorRuns.map((r) => r.rps))),
      'orchestrator rps': Math.round(median(orchestratorRuns.map((r) => r.rps))),
    });
  }
} finally {
  session.close();
  await pool.close();
  await stopNodeProcesses([executor.child, orchestrator.child, models.child]);
}

writeResults(
  'executor-alone',
  rows,
  `# The executor process alone, against the hand-written orchestrator process\n\n${String(requests)} requests per run, ${String(concurrency)} in flight, ${String(rounds)} rounds alternating, medians; CPU of each server process from /proc. The executor (one worker) takes HTTP/2 requests with the plan in their header, as from Envoy's upstream route; the orchestrator takes HTTP/1.1; both call the same model server directly. No Envoy; the client, the server and the models share the 2 cores. \`npx tsx bench/executor-alone.ts\``,
);
