import { runGraph } from '../src/executor/interpreter/graph-run.ts';
import type { Hops } from '../src/executor/interpreter/hops.ts';
import { executionPlan } from '../src/plan/execution-plan.ts';
import { loadGraphDocuments } from '../src/graph/load.ts';
import { countOption } from './count-argument.ts';
import { referenceGraphs } from './data-plane/reference-graphs.ts';
import { writeResults } from './results-file.ts';

/**
 * What the executor's own logic costs, without any I/O: the reference
 * graphs the executor runs (G3, G4, G6) through `runGraph` with hops that
 * answer at once from memory. Set against the executor's CPU per request in
 * `bench/data-plane.ts`, the rest is transport: the ext_proc stream, the hop
 * calls, their buffers and the garbage they leave.
 *   npx tsx bench/executor-logic.ts [--requests 30000]
 */
const requests = countOption('--requests', 30_000);

const v2 = (body: unknown) => Buffer.from(JSON.stringify(body));
const request = v2({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
const answer = v2({
  model_name: 'm',
  model_version: '1',
  outputs: [{ name: 'output', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }],
});
const answering = (body: Buffer) =>
  Promise.resolve({ status: 200, headers: new Map([['content-type', 'application/json']]), body });
const hops: Hops = { call: () => answering(answer) };
// G3's transformer as one written for Switchyard: it answers the model's request, not an answer.
const transformerAnswersRequest: Hops = {
  call: (path) => answering(path.endsWith('/pre') ? request : answer),
};

const graphs = referenceGraphs('127.0.0.1:9000');
const rows = [];
for (const [name, file, hopsOf] of [
  ['G3', 'g3.yaml', hops],
  ['G3, its transformer answering a request', 'g3.yaml', transformerAnswersRequest],
  ['G4', 'g4.yaml', hops],
  ['G6', 'g6.yaml', hops],
] as const) {
  const [graph] = loadGraphDocuments(file, graphs[file] ?? '').graphs;
  if (!graph) throw new Error(`${file} does not load`);
  const plan = executionPlan(graph, graph.entry);
  let calls = 0;
  const counted: Hops = {
    call: (...args) => {
      calls += 1;
      return hopsOf.call(...args);
    },
  };
  const run = () =>
    runGraph(
      plan,
      {
        headers: new Map([['content-type', 'application/json']]),
        query: new URLSearchParams(),
        body: request,
        contentType: 'application/json',
      },
      { hops: counted, random: Math.random, newId: () => 'bench' },
    );
  // Warm up: the first runs are the JIT's.
  for (let i = 0; i < 5_000; i++) await run();
  calls = 0;
  const before = process.cpuUsage();
  for (let i = 0; i < requests; i++) await run();
  const cpu = process.cpuUsage(before);
  rows.push({
    graph: name,
    'hop calls per request': calls / requests,
    'CPU µs per request': Math.round((cpu.user + cpu.system) / requests),
  });
}

writeResults(
  'executor-logic',
  rows,
  `# The executor's logic alone\n\n${String(requests)} runs of each graph through runGraph with in-memory hops (no network, no ext_proc), after 5,000 warm-up runs. \`npx tsx bench/executor-logic.ts\``,
);
