import { compileGraphs } from '../src/controller/compile.ts';
import { planCarriage } from '../src/envoy/plan-carriage.ts';
import { EXECUTION_PLAN } from '../src/envoy/type-urls.ts';
import { loadGraphDocuments } from '../src/graph/load.ts';
import { envoyProtos } from '../src/protos/envoy-protos.ts';
import { encodeAny } from '../src/protos/proto-json.ts';
import { countOption } from './count-argument.ts';
import { writeResults } from './results-file.ts';
import { defaultListener } from '../test/support/listener.ts';

/**
 * Large plans (decision 56): a generated sequence of N steps over two
 * models, parsed and compiled in this process (median of --runs), and what
 * travels: the plan's JSON, its xDS resource, and the route's header.
 *   npx tsx bench/large-plans.ts [--steps 10000] [--runs 5]
 */
const steps = countOption('--steps', 10_000);
const runs = countOption('--runs', 5);
const listener = defaultListener();
const root = envoyProtos();
const text = `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: long }
spec:
  entry: seq
  nodes:
    seq: { kind: sequence, steps: [${Array.from({ length: steps }, (_, i) => `{ node: n${String(i % 2)} }`).join(', ')}] }
    n0: { kind: model, model: plus-one, endpoint: { addresses: ["127.0.0.1:9001"] } }
    n1: { kind: model, model: plus-two, endpoint: { addresses: ["127.0.0.1:9001"] } }
`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const parseMs: number[] = [];
const compileMs: number[] = [];
let compiled: ReturnType<typeof compileGraphs> | undefined;
for (let run = 0; run < runs; run++) {
  const parsing = performance.now();
  const { graphs, diagnostics } = loadGraphDocuments('long.yaml', text);
  parseMs.push(performance.now() - parsing);
  if (diagnostics.length > 0) throw new Error(JSON.stringify(diagnostics));
  const compiling = performance.now();
  compiled = compileGraphs(graphs, listener, root);
  compileMs.push(performance.now() - compiling);
}
const [plan] = [...(compiled?.resources.get(EXECUTION_PLAN)?.values() ?? [])];
if (!plan) throw new Error('the plan did not go by reference');
const planText = String(plan.plan);
const carriage = planCarriage(JSON.parse(planText) as Parameters<typeof planCarriage>[0]);
writeResults(
  'large-plans',
  [
    {
      steps,
      'spec bytes': Buffer.byteLength(text),
      'parse + validate ms': Math.round(median(parseMs)),
      'compile ms': Math.round(median(compileMs)),
      'plan JSON bytes': Buffer.byteLength(planText),
      'xDS resource bytes': encodeAny(root, plan).value.length,
      'route header': `${carriage.header}: ${String(carriage.value.length)} bytes`,
    },
  ],
  `A generated sequence of ${String(steps)} steps, parsed and compiled in one process (median of ${String(runs)} runs), and what travels. Command: npx tsx bench/large-plans.ts --steps ${String(steps)} --runs ${String(runs)}`,
);
