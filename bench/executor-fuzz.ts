import http2 from 'node:http2';
import {
  fuzzCases,
  runCase,
  startFuzzedExecutor,
  validRequest,
  type Outcome,
} from '../test/support/executor-fuzz.ts';
import { startScriptedServer } from '../test/support/scripted-server.ts';
import { countOption } from './count-argument.ts';
import { writeResults } from './results-file.ts';

/**
 * The executor fuzz run at length: malformed ext_proc messages, plan headers
 * and bodies (test/support/executor-fuzz.ts) against one executor process;
 * prints how each case ended, whether the executor lived and still served,
 * and its peak RSS every `--every` cases.
 *   npx tsx bench/executor-fuzz.ts [--cases 5000] [--seed 22] [--every 1000]
 */
const cases = countOption('--cases', 5_000);
const seed = countOption('--seed', 22);
const every = countOption('--every', 1_000);

const answer = () => ({
  json: { outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [2] }] },
});
const nodes = await startScriptedServer({ '/fuzz/g/a': answer, '/fuzz/g/b': answer });
const executor = await startFuzzedExecutor(`http://${nodes.address}`);
const connect = () => {
  const session = http2.connect(`http://127.0.0.1:${String(executor.port)}`);
  session.on('error', () => undefined);
  return session;
};
const rows: Record<string, string | number>[] = [];
const outcomes = new Map<Outcome, number>();
let session = connect();
const started = Date.now();
for (const [index, fuzz] of fuzzCases(cases, seed).entries()) {
  if (session.closed || session.destroyed) session = connect();
  const outcome = await runCase(session, fuzz, 5_000);
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  if ((index + 1) % every === 0 || index + 1 === cases) {
    rows.push({
      cases: index + 1,
      answered: outcomes.get('answered') ?? 0,
      closed: outcomes.get('closed') ?? 0,
      hung: outcomes.get('hung') ?? 0,
      'executor alive': executor.process.exitCode === null ? 'yes' : 'no',
      'peak RSS (MiB)': Math.round(executor.peakRssMiB()),
    });
  }
}
session.close();
const fresh = connect();
const status = await validRequest(fresh).catch(() => 0);
fresh.close();
await executor.stop();
await nodes.stop();
writeResults(
  'executor-fuzz',
  rows,
  `Executor fuzz: ${String(cases)} seeded cases (seed ${String(seed)}) in ${String(Math.round((Date.now() - started) / 1000))} s; a valid request afterwards: ${String(status)}. Command: npx tsx bench/executor-fuzz.ts --cases ${String(cases)} --seed ${String(seed)} --every ${String(every)}`,
);
