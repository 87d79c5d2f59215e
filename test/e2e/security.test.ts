import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { LISTENER } from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { post, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { projectSecret } from '../support/secret-volume.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { sotwClient } from '../support/xds-client.ts';
import { makeTestCa, type IssuedCert, type TestCa } from '../support/test-pki.ts';
import { arithmeticModels, twoStepSequence, type V2 } from '../support/two-step-graphs.ts';

/**
 * xDS over mutual TLS with groups by certificate, Envoy → executor over
 * TLS, the status endpoint behind a token, certificates rotated on disk
 * while everything runs, and no payload or secret in any status or log.
 * The control plane and the executor run as `switchyard serve` and
 * `switchyard executor` processes with the flags an operator gives, Envoy
 * on `switchyard bootstrap`'s output, every certificate made by openssl.
 */

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const trustDomain = 'switchyard.test';
const groupUri = (group: string) => `spiffe://${trustDomain}/switchyard/group/${group}`;

/** What must never show in a log or a status: it rides in requests' bodies and headers. */
const bodySecret = 'body-secret-7f3a9c';
const headerSecret = 'header-secret-52e1b8';
const statusToken = 'status-token-c0ffee-91d2';

async function runCli(
  args: readonly string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

/**
 * Whether the xDS server answers a client presenting `client`: it answers
 * a discovery request, or ends the call UNAUTHENTICATED.
 */
async function adsAdmits(
  port: number,
  trust: string,
  client: { cert: string; key: string },
): Promise<boolean> {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(trust),
    Buffer.from(client.key),
    Buffer.from(client.cert),
  );
  const stream = sotwClient(envoyProtos(), `127.0.0.1:${String(port)}`, credentials);
  try {
    stream.send({
      version_info: '',
      node: { id: 'probe', cluster: 'a' },
      resource_names: [],
      type_url: LISTENER,
      response_nonce: '',
    });
    const answer = await Promise.race([stream.next(5000), stream.ended]);
    if (answer !== undefined && 'code' in answer) {
      assert.equal(answer.code, grpc.status.UNAUTHENTICATED, answer.details);
      return false;
    }
    if (answer === undefined) throw new Error('the xDS server neither answered nor refused');
    return true;
  } finally {
    stream.close();
  }
}

function startCli(name: string, args: readonly string[]): ServerProcess {
  return startServerProcess(name, process.execPath, ['--import', 'tsx', main, ...args]);
}

const input = (data: number) => ({
  inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [data] }],
  note: bodySecret,
});
const answerOf = (json: unknown) => (json as V2).outputs?.[0]?.data[0];

/**
 * The entries of one resource kind in Envoy's config dump; Envoy answers a
 * kind it has nothing of with a 404 in plain text.
 */
async function dumped<T>(envoy: RunningEnvoy, resource: string): Promise<T[]> {
  const response = await request(`${envoy.adminUrl}/config_dump?resource=${resource}`);
  const text = await response.body.text();
  if (response.statusCode === 404) return [];
  assert.equal(response.statusCode, 200, text);
  return (JSON.parse(text) as { configs?: T[] }).configs ?? [];
}

async function listenerCount(envoy: RunningEnvoy): Promise<number> {
  return (await dumped(envoy, 'dynamic_listeners')).length;
}

async function routeTableNames(envoy: RunningEnvoy): Promise<string[]> {
  const tables = await dumped<{ route_config?: { name?: string } }>(envoy, 'dynamic_route_configs');
  return tables.map((c) => c.route_config?.name ?? '');
}

describe('security: mutual TLS xDS, TLS to the executor, a guarded status, rotation', () => {
  let dir: string;
  let caA: TestCa;
  let caB: TestCa;
  let caOther: TestCa;
  let models: ScriptedServer;
  let serve: ServerProcess;
  let executor: ServerProcess;
  let proxy: TcpProxy;
  const envoys: RunningEnvoy[] = [];
  const ports = { listener: 0, hop: 0, executor: 0, xds: 0, status: 0 };
  const paths = {
    xds: '',
    executorTls: '',
    executorCa: '',
    token: '',
    graphsA: '',
  };
  /** Every key file made, to look for its lines in every output. */
  const keys: string[] = [];
  let main_: RunningEnvoy;
  let envoyFiles: string;

  const issue = async (ca: TestCa, name: string, subject: Parameters<TestCa['issue']>[1]) => {
    const cert = await ca.issue(name, subject);
    keys.push(cert.key);
    return cert;
  };
  const clientOf = (ca: TestCa, name: string, group: string, expired = false) =>
    issue(ca, name, {
      commonName: name,
      uris: [groupUri(group)],
      usage: 'client',
      expired,
    });

  /** Envoy's own files, as a Secret volume: its client certificate and the CA it trusts. */
  const envoyVolume = (target: string, trust: string, client?: IssuedCert) => {
    projectSecret(target, {
      'ca.crt': trust,
      ...(client && { 'tls.crt': client.cert, 'tls.key': client.key }),
    });
  };

  const startEnvoy = async (
    name: string,
    options: { group: string; files: string; client: boolean; ready: boolean },
  ): Promise<RunningEnvoy> => {
    const sdsDir = join(dir, `sds-${name}`);
    const bootstrap = await runCli([
      'bootstrap',
      '--node-id',
      name,
      '--node-cluster',
      options.group,
      '--xds-port',
      String(proxy.port),
      '--admin-port',
      String(await freePort()),
      '--xds-tls-ca',
      join(options.files, 'ca.crt'),
      ...(options.client
        ? [
            '--xds-tls-cert',
            join(options.files, 'tls.crt'),
            '--xds-tls-key',
            join(options.files, 'tls.key'),
          ]
        : []),
      '--sds-dir',
      sdsDir,
    ]);
    assert.equal(bootstrap.code, 0, bootstrap.err);
    const envoy = await startEnvoyProcess({
      bootstrap: JSON.parse(bootstrap.out) as Record<string, unknown>,
      name,
      untilAdmin: !options.ready,
    });
    envoys.push(envoy);
    return envoy;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-security-'));
    const pki = (name: string) => {
      const path = join(dir, name);
      mkdirSync(path);
      return path;
    };
    [caA, caB, caOther] = await Promise.all([
      makeTestCa(pki('ca-a'), 'switchyard-ca-a'),
      makeTestCa(pki('ca-b'), 'switchyard-ca-b'),
      makeTestCa(pki('ca-other'), 'someone-else'),
    ]);
    for (const ca of [caA, caB, caOther]) keys.push(ca.key);
    const server = await issue(caA, 'xds-server', {
      commonName: 'switchyard-xds',
      hosts: ['127.0.0.1'],
      usage: 'server',
    });
    const executorCert = await issue(caA, 'executor', {
      commonName: 'switchyard-executor',
      hosts: ['127.0.0.1'],
      usage: 'server',
    });
    models = await startScriptedServer({
      ...arithmeticModels,
      '/v2/models/broken/infer': () => ({ status: 500, text: 'the model is down' }),
    });
    paths.xds = join(dir, 'served', 'xds');
    projectSecret(paths.xds, { 'tls.crt': server.cert, 'tls.key': server.key, 'ca.crt': caA.cert });
    paths.executorTls = join(dir, 'served', 'executor');
    projectSecret(paths.executorTls, { 'tls.crt': executorCert.cert, 'tls.key': executorCert.key });
    paths.executorCa = join(dir, 'served', 'executor-ca');
    projectSecret(paths.executorCa, { 'ca.crt': caA.cert });
    paths.token = join(dir, 'token');
    writeFileSync(paths.token, `${statusToken}\n`);
    const graphs = (name: string, files: Record<string, string>) => {
      const path = pki(name);
      for (const [file, yaml] of Object.entries(files)) writeFileSync(join(path, file), yaml);
      return path;
    };
    const nativeGraph = (name: string) => `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: m
  nodes:
    m: { kind: model, model: double, endpoint: { addresses: ["${models.address}"] } }
`;
    const everyone = graphs('graphs-default', { 'shared.yaml': nativeGraph('shared') });
    paths.graphsA = graphs('graphs-a', {
      'flow.yaml': twoStepSequence('alpha-flow', ['add', 'mul'], models.address, 'ext_proc'),
      'answer.yaml': twoStepSequence('alpha-answer', ['add', 'mul'], models.address, 'upstream'),
      'native.yaml': nativeGraph('alpha-native'),
      'broken.yaml': `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: alpha-broken }
spec:
  entry: seq
  nodes:
    seq: { kind: sequence, steps: [{ node: down }, { node: add }] }
    add: { kind: model, model: add-ten, endpoint: { addresses: ["${models.address}"] } }
    down: { kind: model, model: broken, endpoint: { addresses: ["${models.address}"] } }
`,
    });
    const graphsB = graphs('graphs-b', { 'beta.yaml': nativeGraph('beta') });
    for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
    // Envoys reach xDS through a proxy the test can cut, to make them reconnect.
    proxy = await startTcpProxy(ports.xds);
    serve = startCli('serve', [
      'serve',
      '--graphs',
      everyone,
      '--group',
      `a=${paths.graphsA}`,
      '--group',
      `b=${graphsB}`,
      '--xds-port',
      String(ports.xds),
      '--xds-tls-cert',
      join(paths.xds, 'tls.crt'),
      '--xds-tls-key',
      join(paths.xds, 'tls.key'),
      '--xds-client-ca',
      join(paths.xds, 'ca.crt'),
      '--status-port',
      String(ports.status),
      '--status-token-file',
      paths.token,
      '--listen-port',
      String(ports.listener),
      '--hop-port',
      String(ports.hop),
      '--executor-port',
      String(ports.executor),
      '--executor-workers',
      '1',
      '--executor-ca',
      join(paths.executorCa, 'ca.crt'),
      '--executor-server-name',
      '127.0.0.1',
    ]);
    executor = startCli('executor', [
      'executor',
      '--workers',
      '1',
      '--port',
      String(ports.executor),
      '--hop-url',
      `http://127.0.0.1:${String(ports.hop)}`,
      '--tls-cert',
      join(paths.executorTls, 'tls.crt'),
      '--tls-key',
      join(paths.executorTls, 'tls.key'),
    ]);
    await waitFor(
      'serve and the executor to start',
      () =>
        /xDS \(ADS\) listening/.test(serve.output()) &&
        /executor pid \d+ on .*\(TLS\)/.test(executor.output()),
      30_000,
      100,
    );
    envoyFiles = join(dir, 'envoy-main');
    envoyVolume(envoyFiles, caA.cert, await clientOf(caA, 'envoy-main', 'a'));
    // Its certificate says group a; its bootstrap claims group b.
    main_ = await startEnvoy('envoy-main', {
      group: 'b',
      files: envoyFiles,
      client: true,
      ready: true,
    });
    await waitFor(
      "group a's graphs to answer",
      async () => {
        try {
          return (
            (
              await post(
                `http://127.0.0.1:${String(ports.listener)}/v2/models/alpha-flow/infer`,
                input(1),
              )
            ).status === 200
          );
        } catch {
          return false;
        }
      },
      20_000,
    );
  });

  after(async () => {
    for (const envoy of envoys) await envoy.stop();
    await executor.stop();
    await serve.stop();
    await proxy.stop();
    await models.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (graph: string) =>
    `http://127.0.0.1:${String(ports.listener)}/v2/models/${graph}/infer`;
  const withSecretHeader = { authorization: `Bearer ${headerSecret}`, 'x-api-key': headerSecret };

  test('an Envoy without a valid client certificate gets no configuration, and the control plane says why', async () => {
    const cases = [
      { name: 'envoy-no-cert', client: undefined },
      { name: 'envoy-other-ca', client: await clientOf(caOther, 'envoy-other-ca', 'a') },
      { name: 'envoy-expired', client: await clientOf(caA, 'envoy-expired', 'a', true) },
      {
        name: 'envoy-no-group',
        client: await issue(caA, 'envoy-no-group', {
          commonName: 'envoy-no-group',
          uris: [`spiffe://${trustDomain}/ns/default/sa/someone`],
          usage: 'client',
        }),
      },
    ];
    const refused = await Promise.all(
      cases.map(async ({ name, client }) => {
        const files = join(dir, name);
        envoyVolume(files, caA.cert, client);
        return startEnvoy(name, { group: 'a', files, client: client !== undefined, ready: false });
      }),
    );
    await waitFor(
      'the control plane to log every refusal',
      () =>
        cases.every(({ name }) =>
          serve.output().includes(`refused Envoy ${name} (claims group a)`),
        ),
      15_000,
      100,
    );
    const line = (name: string) =>
      serve
        .output()
        .split('\n')
        .find((l) => l.includes(`refused Envoy ${name} `)) ?? '';
    // grpc-js shows a handler only certificates the CA vouches for: the three are told alike.
    for (const name of ['envoy-no-cert', 'envoy-other-ca', 'envoy-expired']) {
      assert.match(line(name), /no client certificate the xDS client CA vouches for/);
    }
    assert.match(line('envoy-no-group'), /names no node group/);
    // Envoy retries every 2 s at most: give it a few tries, then look again.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const [index, envoy] of refused.entries()) {
      assert.equal(await listenerCount(envoy), 0, `${cases[index]?.name ?? ''} has a listener`);
      assert.deepEqual(await routeTableNames(envoy), []);
    }
    for (const envoy of refused) await envoy.stop();
  });

  test("an Envoy whose certificate says group a but whose node.cluster claims b gets a's graphs only", async () => {
    assert.equal(answerOf((await post(url('alpha-flow'), input(1))).json), 22);
    assert.equal((await post(url('beta'), input(1))).status, 404);
    assert.equal((await post(url('shared'), input(1))).status, 404);
    const tables = await routeTableNames(main_);
    assert.ok(
      tables.some((name) => name.includes('alpha-flow')),
      tables.join(', '),
    );
    assert.ok(
      !tables.some((name) => name.includes('beta') || name.includes('shared')),
      tables.join(', '),
    );
    assert.match(
      serve.output(),
      /Envoy envoy-main \(group a by its certificate, not group b its node\.cluster claims/,
    );
  });

  test('executor graphs answer over TLS on both ways in (ext_proc and upstream), and the executor refuses plaintext', async () => {
    assert.equal(answerOf((await post(url('alpha-flow'), input(1), withSecretHeader)).json), 22);
    assert.equal(answerOf((await post(url('alpha-answer'), input(1), withSecretHeader)).json), 22);
    assert.equal(answerOf((await post(url('alpha-native'), input(3), withSecretHeader)).json), 6);
    const broken = await post(url('alpha-broken'), input(1), withSecretHeader);
    assert.equal(broken.status, 502, broken.text);
    // Plaintext HTTP/2 and HTTP/1 to the executor's port get no answer.
    const plainH2 = await new Promise<string>((resolve) => {
      const session = http2.connect(`http://127.0.0.1:${String(ports.executor)}`);
      session.on('error', (error: Error) => {
        resolve(`error: ${error.message}`);
      });
      session.on('close', () => {
        resolve('closed');
      });
      setTimeout(() => {
        resolve('no answer within 5 s');
        session.destroy();
      }, 5000).unref();
      const stream = session.request({ ':method': 'POST', ':path': '/v2/models/alpha-flow/infer' });
      stream.on('response', (headers) => {
        resolve(`answered ${String(headers[':status'])}`);
      });
      stream.on('error', (error: Error) => {
        resolve(`error: ${error.message}`);
      });
      stream.end(JSON.stringify(input(1)));
    });
    assert.match(plainH2, /^(error|closed)/);
    await assert.rejects(request(`http://127.0.0.1:${String(ports.executor)}/`));
  });

  test('GET /status needs the bearer token: 401 in the error shape without it, 200 with it', async () => {
    const statusUrl = `http://127.0.0.1:${String(ports.status)}/status`;
    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${statusToken}`]) {
      const response = await request(statusUrl, {
        ...(authorization !== undefined && { headers: { authorization } }),
      });
      assert.equal(response.statusCode, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="switchyard"');
      const body = (await response.body.json()) as { error: { status: number; reason: string } };
      assert.equal(body.error.status, 401);
      assert.match(body.error.reason, /bearer token/);
    }
    const ok = await request(statusUrl, { headers: { authorization: `Bearer ${statusToken}` } });
    assert.equal(ok.statusCode, 200);
    const status = (await ok.body.json()) as { envoys: { nodeId: string; nodeCluster: string }[] };
    assert.deepEqual(
      status.envoys.filter((e) => e.nodeId === 'envoy-main').map((e) => e.nodeCluster),
      ['a'],
    );
    const denied = await runCli(['status', '--url', `http://127.0.0.1:${String(ports.status)}`]);
    assert.equal(denied.code, 1);
    assert.match(denied.err, /answered 401: GET \/status needs the bearer token/);
  });

  test('serve refuses to start a status endpoint beyond loopback with neither a token nor client certificates', async () => {
    // 192.0.2.1 is TEST-NET-1: never bound, whatever the check decides.
    const refused = await runCli([
      'serve',
      '--graphs',
      paths.graphsA,
      '--status-address',
      '192.0.2.1',
    ]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.err,
      /--status-address: the status endpoint on 192\.0\.2\.1 would be open to anyone/,
    );
    const unpaired = await runCli([
      'serve',
      '--graphs',
      paths.graphsA,
      '--xds-client-ca',
      'ca.crt',
    ]);
    assert.equal(unpaired.code, 1);
    assert.match(unpaired.err, /--xds-client-ca needs --xds-tls-cert/);
  });

  test('certificates rotate on disk (a new CA, rolled over through a bundle) while nothing restarts', async () => {
    const pids = [serve.child.pid, executor.child.pid, main_.pid];
    const still = async (what: string) => {
      for (const graph of ['alpha-flow', 'alpha-answer']) {
        const reply = await post(url(graph), input(1));
        assert.equal(answerOf(reply.json), 22, `${graph} ${what}: ${reply.text}`);
      }
    };
    const bundle = `${caA.cert}${caB.cert}`;
    const [serverB, executorB, envoyB] = await Promise.all([
      issue(caB, 'xds-server', {
        commonName: 'switchyard-xds',
        hosts: ['127.0.0.1'],
        usage: 'server',
      }),
      issue(caB, 'executor', {
        commonName: 'switchyard-executor',
        hosts: ['127.0.0.1'],
        usage: 'server',
      }),
      clientOf(caB, 'envoy-main', 'a'),
    ]);
    const oldServer = {
      cert: readFileSync(join(paths.xds, 'tls.crt'), 'utf8'),
      key: readFileSync(join(paths.xds, 'tls.key'), 'utf8'),
    };
    const oldEnvoy = {
      cert: readFileSync(join(envoyFiles, 'tls.crt'), 'utf8'),
      key: readFileSync(join(envoyFiles, 'tls.key'), 'utf8'),
    };
    const reloads = (pattern: RegExp) => (serve.output().match(pattern) ?? []).length;
    const executorCaReloads = reloads(/the executor CA: reloaded/g);

    // 1. Everyone trusts both CAs.
    projectSecret(paths.xds, {
      ...{ 'tls.crt': oldServer.cert, 'tls.key': oldServer.key },
      'ca.crt': bundle,
    });
    projectSecret(envoyFiles, {
      'ca.crt': bundle,
      'tls.crt': oldEnvoy.cert,
      'tls.key': oldEnvoy.key,
    });
    projectSecret(paths.executorCa, { 'ca.crt': bundle });
    await waitFor(
      'the control plane to reload the executor CA',
      () => reloads(/the executor CA: reloaded/g) > executorCaReloads,
      10_000,
      100,
    );
    await still('with both CAs trusted');

    // 2. Every certificate is reissued by the new CA.
    projectSecret(paths.xds, { 'tls.crt': serverB.cert, 'tls.key': serverB.key, 'ca.crt': bundle });
    projectSecret(envoyFiles, { 'ca.crt': bundle, 'tls.crt': envoyB.cert, 'tls.key': envoyB.key });
    projectSecret(paths.executorTls, { 'tls.crt': executorB.cert, 'tls.key': executorB.key });
    await waitFor(
      "the executor's certificate to reload",
      () => /executor's TLS certificate: reloaded/.test(executor.output()),
      10_000,
      100,
    );
    await still('with new certificates');

    // 3. The old CA is trusted no more: Envoy opens new connections to the executor (its
    // cluster changed) that must check the new certificate against the new CA alone.
    const before3 = reloads(/the executor CA: reloaded/g);
    projectSecret(paths.xds, {
      'tls.crt': serverB.cert,
      'tls.key': serverB.key,
      'ca.crt': caB.cert,
    });
    projectSecret(envoyFiles, {
      'ca.crt': caB.cert,
      'tls.crt': envoyB.cert,
      'tls.key': envoyB.key,
    });
    projectSecret(paths.executorCa, { 'ca.crt': caB.cert });
    await waitFor(
      'the executor CA to reload',
      () => reloads(/the executor CA: reloaded/g) > before3,
      10_000,
      100,
    );
    // A line of each CA's base64 body tells them apart in Envoy's config dump.
    const line3 = (pem: string) => pem.split('\n')[3] ?? pem;
    await waitFor(
      "Envoy's executor cluster to carry the new CA alone",
      async () => {
        const clusters = JSON.stringify(await main_.configDump('dynamic_active_clusters'));
        return clusters.includes(line3(caB.cert)) && !clusters.includes(line3(caA.cert));
      },
      10_000,
    );
    await still('trusting the new CA alone');

    // The running Envoy reconnects to xDS with its rotated certificate, which only the new CA
    // vouches for now that the server has read its third set of files.
    await waitFor(
      'the xDS server to refuse a certificate of the old CA',
      async () => !(await adsAdmits(ports.xds, `${caA.cert}${caB.cert}`, oldEnvoy)),
      10_000,
      200,
    );
    const connections = (serve.output().match(/Envoy envoy-main \(group a/g) ?? []).length;
    proxy.cut();
    await waitFor(
      'envoy-main to reconnect',
      () => (serve.output().match(/Envoy envoy-main \(group a/g) ?? []).length > connections,
      15_000,
      100,
    );
    writeFileSync(
      join(paths.graphsA, 'later.yaml'),
      twoStepSequence('alpha-later', ['mul', 'add'], models.address, 'ext_proc'),
    );
    await waitFor(
      'a graph added after the reconnect to answer',
      async () => answerOf((await post(url('alpha-later'), input(1))).json) === 12,
      15_000,
    );

    // A new Envoy with only the new certificate and the new CA connects.
    const fresh = join(dir, 'envoy-fresh');
    envoyVolume(fresh, caB.cert, await clientOf(caB, 'envoy-fresh', 'a'));
    const freshEnvoy = await startEnvoy('envoy-fresh', {
      group: 'a',
      files: fresh,
      client: true,
      ready: true,
    });
    await waitFor(
      'the new Envoy to get a listener',
      async () => (await listenerCount(freshEnvoy)) > 0,
      15_000,
    );

    assert.deepEqual([serve.child.pid, executor.child.pid, main_.pid], pids);
    for (const server of [serve, executor]) assert.equal(server.exitError(), undefined);
  });

  test('no status, status command output or log holds a payload, a header value, the token or key material', async () => {
    // Traffic with the secrets once more, on every path, then everything the system printed.
    for (const graph of ['alpha-flow', 'alpha-answer', 'alpha-native', 'alpha-broken', 'beta']) {
      await post(url(graph), input(2), withSecretHeader);
    }
    const tokenFlag = [
      '--url',
      `http://127.0.0.1:${String(ports.status)}`,
      '--token-file',
      paths.token,
    ];
    const table = await runCli(['status', ...tokenFlag]);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /envoy-main {2}group a/);
    const json = await runCli(['status', '--json', ...tokenFlag]);
    assert.equal(json.code, 0, json.err);
    const outputs: Record<string, string> = {
      'switchyard serve': serve.output(),
      'switchyard executor': executor.output(),
      'switchyard status': table.out + table.err,
      'switchyard status --json': json.out + json.err,
    };
    const keyLines = keys.flatMap((key) =>
      key.split('\n').filter((line) => line !== '' && !line.startsWith('-----')),
    );
    for (const [what, text] of Object.entries(outputs)) {
      assert.ok(text.length > 0, `${what} printed nothing`);
      for (const secret of [bodySecret, headerSecret, statusToken, 'PRIVATE KEY', ...keyLines]) {
        assert.ok(!text.includes(secret), `${what} holds ${secret.slice(0, 12)}…`);
      }
    }
  });
});
