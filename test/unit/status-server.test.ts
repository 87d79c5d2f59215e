import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import type { ControlPlaneStatus } from '../../src/controller/status.ts';
import { startStatusServer } from '../../src/controller/status-server.ts';
import { waitFor } from '../support/http.ts';
import { makeTestCa } from '../support/test-pki.ts';

const empty: ControlPlaneStatus = { envoys: [], graphs: [], problems: [] };

test('status over HTTPS needs a client certificate from the client CA and the bearer token; a rotated token replaces the old', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-status-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const ca = await makeTestCa(dir);
  const [server, client] = await Promise.all([
    ca.issue('server', { commonName: 'status', hosts: ['127.0.0.1'], usage: 'server' }),
    ca.issue('client', { commonName: 'prometheus', usage: 'client' }),
  ]);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'first-token\n');
  const status = await startStatusServer(
    () => empty,
    { host: '127.0.0.1', port: 0 },
    { tokenFile, tls: { cert: server.certFile, key: server.keyFile, clientCa: ca.certFile } },
  );
  t.after(() => status.stop());
  const url = `https://127.0.0.1:${String(status.port)}/status`;
  const anonymous = new Agent({ connect: { ca: ca.cert } });
  const known = new Agent({ connect: { ca: ca.cert, cert: client.cert, key: client.key } });
  t.after(() => Promise.all([anonymous.close(), known.close()]));
  const get = async (dispatcher: Agent, token?: string, path = '/status') => {
    const response = await request(url.replace('/status', path), {
      dispatcher,
      ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    });
    return {
      status: response.statusCode,
      body: (await response.body.json()) as { error?: { reason: string } },
    };
  };

  const noCertificate = await get(anonymous, 'first-token');
  assert.equal(noCertificate.status, 401);
  assert.match(noCertificate.body.error?.reason ?? '', /client certificate/);
  const noToken = await get(known);
  assert.equal(noToken.status, 401);
  assert.match(noToken.body.error?.reason ?? '', /bearer token/);
  assert.deepEqual(await get(known, 'first-token'), { status: 200, body: empty });
  // Other paths are 404 for everyone: nothing to guard there.
  assert.equal((await get(anonymous, undefined, '/other')).status, 404);

  // `switchyard status` presents the same: the CA to trust, a client certificate, the token.
  const cli = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts'),
      'status',
      '--url',
      `https://127.0.0.1:${String(status.port)}`,
      '--ca',
      ca.certFile,
      '--cert',
      client.certFile,
      '--key',
      client.keyFile,
      '--token-file',
      tokenFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let printed = '';
  cli.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
  cli.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
  const [code] = (await once(cli, 'exit')) as [number | null];
  assert.equal(code, 0, printed);
  assert.match(printed, /^Envoys \(0\)\nGraphs \(0\)\n$/);

  writeFileSync(tokenFile, 'second-token\n');
  await waitFor(
    'the new token',
    async () => (await get(known, 'second-token')).status === 200,
    5000,
    100,
  );
  assert.equal((await get(known, 'first-token')).status, 401);
});

test("/healthz and /readyz answer a kubelet's probe, which carries no token and no client certificate, whatever guards /status", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-status-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const ca = await makeTestCa(dir);
  const server = await ca.issue('server', {
    commonName: 'status',
    hosts: ['127.0.0.1'],
    usage: 'server',
  });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'secret\n');
  let ready = false;
  const status = await startStatusServer(
    () => empty,
    { host: '127.0.0.1', port: 0 },
    { tokenFile, tls: { cert: server.certFile, key: server.keyFile, clientCa: ca.certFile } },
    new Map(),
    () => ready,
  );
  t.after(() => status.stop());
  // What a kubelet's HTTPS probe is: the server's certificate is not even checked.
  const probe = new Agent({ connect: { rejectUnauthorized: false } });
  t.after(() => probe.close());
  const get = async (path: string) => {
    const response = await request(`https://127.0.0.1:${String(status.port)}${path}`, {
      dispatcher: probe,
    });
    return { status: response.statusCode, body: await response.body.json() };
  };

  assert.deepEqual(await get('/healthz'), { status: 200, body: { status: 'ok' } });
  assert.deepEqual(await get('/readyz'), {
    status: 503,
    body: { status: 'not ready: the sources are still being read' },
  });
  ready = true;
  assert.deepEqual(await get('/readyz'), { status: 200, body: { status: 'ready' } });
  // They say nothing else, and /status stays guarded.
  assert.equal((await get('/status')).status, 401);
});

test('GET /metrics sits behind the same bearer token as GET /status', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-status-metrics-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'scrape-token\n');
  const status = await startStatusServer(
    () => empty,
    { host: '127.0.0.1', port: 0 },
    { tokenFile },
    new Map([
      [
        '/metrics',
        {
          contentType: 'text/plain; version=0.0.4; charset=utf-8',
          body: () => 'switchyard_up 1\n',
        },
      ],
    ]),
  );
  t.after(() => status.stop());
  const get = async (token?: string) => {
    const response = await request(`http://127.0.0.1:${String(status.port)}/metrics`, {
      ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    });
    return { status: response.statusCode, text: await response.body.text() };
  };
  const refused = await get();
  assert.equal(refused.status, 401);
  assert.doesNotMatch(refused.text, /switchyard_up/);
  assert.equal((await get('wrong-token')).status, 401);
  assert.deepEqual(await get('scrape-token'), { status: 200, text: 'switchyard_up 1\n' });
});
