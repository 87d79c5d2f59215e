import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { envoyDescriptor, parseEnvoyProtos } from '../../src/protos/envoy-protos.ts';
import { freePort, freePortRun } from '../support/ports.ts';

/**
 * The production build (`npm run build`) is what a container runs: it must
 * build, and the compiled CLI behind bin/switchyard.js must do its work with
 * no TypeScript loader (validate, with the RE2 addon; serve; the executor's
 * workers), reading Envoy's protos from the descriptor the build wrote.
 */
const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'switchyard.js');
const scratch = mkdtempSync(join(tmpdir(), 'switchyard-build-'));

before(async () => {
  await run('npm', ['run', '--silent', 'build'], { cwd: root });
});

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs the compiled CLI to its end; its exit code and everything it printed. */
async function switchyard(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

/** Starts the compiled CLI and waits until it printed `count` lines matching `ready`. */
async function startSwitchyard(args: readonly string[], ready: RegExp, count = 1) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`not ready within 30 s:\n${output}`));
    }, 30_000);
    const watch = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if ((output.match(new RegExp(ready.source, 'g')) ?? []).length >= count) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${String(code)}:\n${output}`));
    });
  });
  return {
    output: () => output,
    /** SIGTERM, then its exit code (null if it did not exit within 10 s). */
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}

test('the build writes the descriptor of the protos it was built against', () => {
  const built = JSON.parse(
    readFileSync(join(root, 'dist', 'protos', 'envoy-protos.json'), 'utf8'),
  ) as unknown;
  assert.deepEqual(built, JSON.parse(JSON.stringify(envoyDescriptor(parseEnvoyProtos()))));
});

test('the compiled CLI validates graphs, sizing regexes with the RE2 addon', async () => {
  const valid = await switchyard('validate', 'examples');
  assert.equal(valid.code, 0, valid.output);
  assert.match(valid.output, /\d+ graph\(s\) valid/);

  const file = join(scratch, 'regex.yaml');
  writeFileSync(
    file,
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: r }
spec:
  entry: w
  nodes:
    w: { kind: switch, cases: [{ when: { header: x-tier, regex: "[a-z]{200}" }, to: a }], default: a }
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9000"] } }
`,
  );
  const invalid = await switchyard('validate', file);
  assert.equal(invalid.code, 1, invalid.output);
  assert.match(
    invalid.output,
    /compiles to an RE2 program of size 204; Envoy refuses more than 100/,
  );
});

test('the compiled CLI serves graphs and answers /status and the status page', async () => {
  const statusPort = await freePort();
  const serve = await startSwitchyard(
    [
      'serve',
      '--graphs',
      'examples',
      '--xds-port',
      String(await freePort()),
      '--status-port',
      String(statusPort),
    ],
    /xDS \(ADS\) listening/,
  );
  try {
    const reply = await request(`http://127.0.0.1:${String(statusPort)}/status`);
    assert.equal(reply.statusCode, 200);
    const status = (await reply.body.json()) as {
      graphs: { source: string }[];
      problems: unknown[];
    };
    assert.deepEqual(status.problems, []);
    assert.deepEqual([...new Set(status.graphs.map((g) => g.source.replace(/^.*\//, '')))].sort(), [
      'fraud-canary.yaml',
      'scored.yaml',
      'shadow.yaml',
      'tiered.yaml',
    ]);
    // The status page's HTML is an asset the build copies; its JSON draws with Graphviz's WASM.
    const page = await request(`http://127.0.0.1:${String(statusPort)}/ui`);
    assert.equal(page.statusCode, 200);
    assert.match(await page.body.text(), /<title>Switchyard graphs<\/title>/);
    const graphs = await request(`http://127.0.0.1:${String(statusPort)}/ui/graphs`);
    assert.equal(graphs.statusCode, 200);
    assert.equal(((await graphs.body.json()) as { graphs: unknown[] }).graphs.length, 4);
  } finally {
    assert.equal(await serve.stop(), 0, serve.output());
  }
});

test('the compiled executor starts its workers and stops on SIGTERM', async () => {
  const port = await freePortRun(2);
  const executor = await startSwitchyard(
    ['executor', '--workers', '2', '--port', String(port)],
    /executor pid \d+ on/,
    2,
  );
  assert.equal(await executor.stop(), 0, executor.output());
});

test('bin/switchyard.js without dist/ says to build', async () => {
  const copy = join(scratch, 'package', 'bin');
  mkdirSync(copy, { recursive: true });
  copyFileSync(bin, join(copy, 'switchyard.js'));
  await assert.rejects(
    run(process.execPath, [join(copy, 'switchyard.js'), 'validate']),
    (error) => {
      const { code, stderr } = error as { code: number; stderr: string };
      assert.equal(code, 1);
      assert.match(stderr, /dist\/ is missing: run `npm run build`/);
      return true;
    },
  );
});
