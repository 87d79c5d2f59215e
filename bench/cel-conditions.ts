import { conditionHolds, type ConditionInput } from '../src/executor/interpreter/conditions.ts';
import { gjsonToCel } from '../src/import/gjson.ts';
import { compileCel } from '../src/spec/cel.ts';
import type { SwitchCondition } from '../src/spec/schema.ts';
import { countOption } from './count-argument.ts';
import { writeResults } from './results-file.ts';

/**
 * What a condition costs the executor per request: CEL expressions (as
 * written, and as translated from KServe's GJSON) against the simple form
 * they sit beside, each on an already-parsed body, through conditionHolds
 * as a switch runs it (compiled once, evaluated many times), and what one
 * compile costs.
 *   npx tsx bench/cel-conditions.ts [--evaluations 200000]
 */
const evaluations = countOption('--evaluations', 200_000);

const body = {
  predictions: ['dog', 0.9],
  instances: [
    { modelId: '1', x: 3 },
    { modelId: '2', x: 7 },
  ],
  decision_picker: 'SUCCESS',
  tier: 'gold',
};
const input: ConditionInput = {
  headers: new Map([['x-tier', 'gold']]),
  query: new URLSearchParams('a=1'),
  body: () => body,
};

function translated(gjson: string): string {
  const result = gjsonToCel(gjson);
  if ('unsupported' in result) throw new Error(result.unsupported);
  return result.cel;
}

const conditions: [string, SwitchCondition][] = [
  ['simple: body $.tier equals', { body: '$.tier', equals: 'gold' }],
  ['simple: header equals', { header: 'x-tier', equals: 'gold' }],
  ['cel: body.tier == "gold"', { cel: 'body.tier == "gold"' }],
  ['cel: headers["x-tier"] == "gold"', { cel: 'headers["x-tier"] == "gold"' }],
  ['cel: body.instances.exists(i, i.x > 5)', { cel: 'body.instances.exists(i, i.x > 5)' }],
  [
    'cel from GJSON [@this].#(predictions.0=="dog")',
    { cel: translated('[@this].#(predictions.0=="dog")') },
  ],
  ['cel from GJSON instances.#(modelId=="2")', { cel: translated('instances.#(modelId=="2")') }],
];

const rows: Record<string, string | number>[] = [];
for (const [name, when] of conditions) {
  if (!conditionHolds(when, input)) throw new Error(`${name} does not hold`);
  for (let i = 0; i < 20_000; i++) conditionHolds(when, input);
  const started = process.hrtime.bigint();
  for (let i = 0; i < evaluations; i++) conditionHolds(when, input);
  const perEvaluation = Number(process.hrtime.bigint() - started) / evaluations;
  let compileNs: number | string = '-';
  if (when.cel !== undefined) {
    const cel = when.cel;
    const compiles = 2_000;
    const compileStarted = process.hrtime.bigint();
    for (let i = 0; i < compiles; i++) compileCel(cel);
    compileNs = Math.round(Number(process.hrtime.bigint() - compileStarted) / compiles / 1000);
  }
  rows.push({
    condition: name,
    'ns per evaluation': Math.round(perEvaluation),
    'µs per compile': compileNs,
  });
}

writeResults(
  'cel-conditions',
  rows,
  `# What a condition costs the executor\n\n${String(evaluations)} evaluations of each condition through conditionHolds (the switch's path: the compiled expression cached, the body already parsed), after 20,000 warm-up ones; a compile is parse and type check. \`npx tsx bench/cel-conditions.ts\``,
);
