import { Pool } from 'undici';
import { runGraph } from '../src/executor/interpreter/graph-run.ts';
import { HopClient } from '../src/executor/transport/hop-client.ts';
import { countOption } from './count-argument.ts';
import { measureClosedLoop, median } from './data-plane/closed-loop.ts';
import { directReferencePlan } from './data-plane/direct-plan.ts';
import { handWrittenGraphs } from './data-plane/hand-written-graphs.ts';
import { startNodeProcess, stopNodeProcesses } from './data-plane/node-process.ts';
import { writeResults } from './results-file.ts';

/**
 * The executor's graph logic with real HTTP hops, against the hand-written
 * calls of the same graph, in one process and one run, with no Envoy and no
 * inbound request: both call the benchmark's model server over loopback
 * (the executor through its HopClient, which reads answers with undici's
 * raw dispatch; the hand-written code through an undici pool's request(),
 * as a minimal client would), closed loop, alternating. The CPU this process spends per
 * request is what the executor's own path costs beyond the calls any client
 * makes; set it against `bench/data-plane.ts`, where the executor also
 * receives each request and shares 2 cores with Envoy.
 *   npx tsx bench/executor-hops.ts [--requests 20000] [--rounds 3]
 */
const requests = countOption('--requests', 20_000);
const rounds = countOption('--rounds', 3);
const concurrency = 16;

const models = await startNodeProcess('bench/data-plane/models.ts', []);
const modelsUrl = `http://127.0.0.1:${String(models.port)}`;

const body = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
);
const hops = new HopClient(modelsUrl);
const pool = new Pool(modelsUrl, { connections: 256, pipelining: 1 });
const handWritten = handWrittenGraphs(pool);
const requestHeaders = new Map([
  [':method', 'POST'],
  [':path', '/v2/models/g/infer'],
  ['content-type', 'application/json'],
  ['x-request-id', 'bench'],
]);

/** CPU µs of this process per request, and requests per second. */
function measure(run: () => Promise<unknown>): Promise<{ cpu: number; rps: number }> {
  return measureClosedLoop(run, {
    requests,
    concurrency,
    cpuSeconds: () => {
      const cpu = process.cpuUsage();
      return (cpu.user + cpu.system) / 1e6;
    },
  });
}

const rows = [];
try {
  for (const name of ['G3', 'G4', 'G6']) {
    const plan = directReferencePlan(name);
    const services = { hops, random: Math.random, newId: () => 'bench' };
    const executor = async () => {
      const result = await runGraph(
        plan,
        {
          headers: requestHeaders,
          query: new URLSearchParams(),
          body,
          contentType: 'application/json',
        },
        services,
      );
      if (result.kind !== 'answer' || result.status !== 200) throw new Error(`${name} failed`);
    };
    const written = handWritten[`/${name.toLowerCase()}`];
    if (!written) throw new Error(`no hand-written ${name}`);
    const byHand = () => written(body);
    const executorRuns = [];
    const handRuns = [];
    for (let round = 0; round < rounds; round++) {
      executorRuns.push(await measure(executor));
      handRuns.push(await measure(byHand));
    }
    const executorCpu = median(executorRuns.map((r) => r.cpu));
    const handCpu = median(handRuns.map((r) => r.cpu));
    rows.push({
      graph: name,
      'executor CPU µs per request': Math.round(executorCpu),
      'hand-written CPU µs per request': Math.round(handCpu),
      'executor / hand-written': (executorCpu / handCpu).toFixed(2),
      'executor rps': Math.round(median(executorRuns.map((r) => r.rps))),
      'hand-written rps': Math.round(median(handRuns.map((r) => r.rps))),
    });
  }
} finally {
  await hops.close();
  await pool.close();
  await stopNodeProcesses([models.child]);
}

writeResults(
  'executor-hops',
  rows,
  `# The executor's path with real hops, against hand-written calls\n\n${String(requests)} requests per run, ${String(concurrency)} in flight, ${String(rounds)} rounds alternating, medians; CPU of the one process making the calls (the model server runs in another). No Envoy, no inbound request. The executor reads hop answers with undici's dispatch, the hand-written calls with request(). \`npx tsx bench/executor-hops.ts\``,
);
