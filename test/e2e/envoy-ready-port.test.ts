import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { resolveEnvoy } from '../../src/runtime/envoy-binary.ts';
import { freePort } from '../support/ports.ts';
import { startServerProcess, waitFor, type ServerProcess } from '../support/server-process.ts';

/**
 * `switchyard bootstrap --ready-port`: a kubelet cannot reach Envoy's admin interface, which
 * stays on loopback, so the bootstrap adds a listener that passes GET /ready to it, and
 * nothing else of it. A real Envoy runs the bootstrap the CLI wrote.
 */
const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'src', 'cli', 'main.ts');
const examples = join(root, 'examples');

let dir: string;
let envoy: ServerProcess | undefined;
let controlPlane: ControlPlane | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-ready-'));
});

after(async () => {
  await envoy?.stop();
  await controlPlane?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function get(url: string, method: 'GET' | 'POST' = 'GET') {
  const response = await request(url, { method });
  return { status: response.statusCode, text: await response.body.text() };
}

test('the ready port answers GET /ready as the admin interface does, once Envoy has its config, and nothing else', async () => {
  const [xdsPort, adminPort, readyPort, listenPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const bootstrapPath = join(dir, 'bootstrap.json');
  await run(process.execPath, [
    '--import',
    'tsx',
    cli,
    'bootstrap',
    '--node-id=ready-test',
    `--xds-port=${String(xdsPort)}`,
    `--admin-port=${String(adminPort)}`,
    `--ready-port=${String(readyPort)}`,
    '--ready-address=127.0.0.1',
    `--output=${bootstrapPath}`,
  ]);
  const bootstrap = JSON.parse(await readFile(bootstrapPath, 'utf8')) as {
    admin: { address: { socket_address: { address: string } } };
  };
  assert.equal(bootstrap.admin.address.socket_address.address, '127.0.0.1');

  envoy = startServerProcess('envoy', (await resolveEnvoy()).path, [
    '-c',
    bootstrapPath,
    '--log-level',
    'warn',
    '--use-dynamic-base-id',
    '--disable-hot-restart',
  ]);
  const admin = `http://127.0.0.1:${String(adminPort)}`;
  const ready = `http://127.0.0.1:${String(readyPort)}`;
  // No control plane yet: Envoy waits for its first configuration (up to 15 s), not ready.
  const waiting = await waitFor('the admin interface', () => get(`${admin}/ready`), {
    timeoutMs: 10_000,
    processes: [envoy],
  });
  assert.equal(waiting.status, 503);
  const before = await get(`${ready}/ready`).catch((error: unknown) => error as Error);
  assert.ok(
    before instanceof Error || before.status !== 200,
    'the ready port does not say ready before Envoy is',
  );

  const graphsDir = join(dir, 'graphs');
  await mkdir(graphsDir);
  // Until a first graph is read, the control plane has no configuration to send.
  await copyFile(join(examples, 'fraud-canary.yaml'), join(graphsDir, 'fraud-canary.yaml'));
  controlPlane = await startControlPlane({
    graphsDir,
    xdsHost: '127.0.0.1',
    xdsPort,
    log: () => undefined,
    listener: {
      address: '127.0.0.1',
      port: listenPort,
      hopPort: await freePort(),
      executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
    },
  });
  const live = await waitFor(
    'GET /ready through the ready port to answer 200',
    async () => {
      const answer = await get(`${ready}/ready`);
      return answer.status === 200 ? answer : undefined;
    },
    { timeoutMs: 20_000, processes: [envoy] },
  );
  assert.equal(live.text.trim(), 'LIVE');

  // The rest of the admin interface (stats, config, and what changes or stops Envoy) is not there.
  for (const [path, method] of [
    ['/stats', 'GET'],
    ['/config_dump', 'GET'],
    ['/ready', 'POST'],
    ['/healthcheck/fail', 'POST'],
    ['/quitquitquit', 'POST'],
  ] as const)
    assert.equal((await get(`${ready}${path}`, method)).status, 404, `${method} ${path}`);
  assert.equal((await get(`${admin}/ready`)).status, 200, 'Envoy still runs, and is ready');
});
