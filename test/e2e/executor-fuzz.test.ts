import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import {
  fuzzCases,
  runCase,
  startFuzzedExecutor,
  validRequest,
  type FuzzedExecutor,
  type Outcome,
} from '../support/executor-fuzz.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';

/**
 * The executor under malformed ext_proc messages, plan headers and bodies
 * (seeded, so a failure replays): every case is answered or its stream
 * closed, the process survives, still serves, and its memory stays bounded.
 * bench/executor-fuzz.ts runs more cases and reports counts and peak RSS.
 */

const CASES = 400;
const SEED = 22;

let nodes: ScriptedServer;
let executor: FuzzedExecutor;

before(async () => {
  const answer = () => ({
    json: { outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [2] }] },
  });
  nodes = await startScriptedServer({ '/fuzz/g/a': answer, '/fuzz/g/b': answer });
  executor = await startFuzzedExecutor(`http://${nodes.address}`);
});

after(async () => {
  await executor.stop();
  await nodes.stop();
});

test(`${String(CASES)} malformed requests: each answered or closed, the executor lives on with bounded memory`, async (t) => {
  const pid = executor.process.pid;
  const outcomes = new Map<Outcome, number>();
  let session = http2.connect(`http://127.0.0.1:${String(executor.port)}`);
  session.on('error', () => undefined);
  for (const fuzz of fuzzCases(CASES, SEED)) {
    // A connection the executor closed (a protocol error) is replaced, as Envoy would.
    if (session.closed || session.destroyed) {
      session = http2.connect(`http://127.0.0.1:${String(executor.port)}`);
      session.on('error', () => undefined);
    }
    const outcome = await runCase(session, fuzz, 5_000);
    if (outcome === 'hung') t.diagnostic(`hung: ${JSON.stringify(fuzz)}`);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  t.diagnostic(
    `outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}, peak RSS ${executor.peakRssMiB().toFixed(0)} MiB`,
  );
  assert.equal(outcomes.get('hung') ?? 0, 0, 'no case was left without an answer or a close');
  assert.equal(
    executor.process.exitCode,
    null,
    `the executor is alive:\n${executor.output().slice(-2000)}`,
  );
  assert.equal(executor.process.pid, pid);
  const fresh = http2.connect(`http://127.0.0.1:${String(executor.port)}`);
  try {
    assert.equal(await validRequest(fresh), 200, 'a valid request is still answered');
  } finally {
    fresh.close();
    session.close();
  }
  // Generous: a Node process serving is about 100 MiB; a leak of every body would pass it.
  assert.ok(executor.peakRssMiB() < 400, `peak RSS ${executor.peakRssMiB().toFixed(0)} MiB`);
});
