import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { startExecutor, type Executor } from '../../src/executor/transport/server.ts';
import {
  EXECUTION_PLAN_VERSION,
  EXECUTOR_READINESS_PATH,
  PLAN_HEADER,
  PLAN_REFERENCE_HEADER,
  type ExecutionPlan,
} from '../../src/plan/execution.ts';
import { planHash } from '../../src/plan/plan-hash.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';

/**
 * The executor as Envoy's upstream, without Envoy: HTTP/1.1 and HTTP/2
 * requests on its one port, carrying the plan header the route would set,
 * its hop calls answered by a scripted server standing in for the hop
 * listener. Envoy's side is end-to-end tested.
 */

const plan: ExecutionPlan = {
  version: EXECUTION_PLAN_VERSION,
  graph: 'default/g',
  protocol: 'v2',
  timeoutMs: 2_000,
  entry: 'post',
  propagateHeaders: [],
  returnOutputs: [],
  maxBodyBytes: 200,
  nodes: {
    post: {
      kind: 'output-transformer',
      timeoutMs: 2_000,
      soft: false,
      propagateHeaders: [],
      hop: '/default/g/post',
      protocol: 'v2',
      to: 'm',
    },
    m: {
      kind: 'model',
      timeoutMs: 2_000,
      soft: false,
      propagateHeaders: [],
      hop: '/default/g/m',
      protocol: 'v2',
    },
  },
};

const v2Request = { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] };
const v2Answer = { outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [2] }] };

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  readonly json: unknown;
}

function replyOf(status: number, headers: http.IncomingHttpHeaders, chunks: Buffer[]): Reply {
  const text = Buffer.concat(chunks).toString('utf8');
  return { status, headers, text, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

interface Client {
  send(
    headers: http.OutgoingHttpHeaders,
    body: string,
    method?: string,
    path?: string,
  ): Promise<Reply>;
  close(): void;
}

function http2Client(port: number): Client {
  const session = http2.connect(`http://127.0.0.1:${String(port)}`);
  return {
    send: (headers, body, method = 'POST', path = '/v2/models/g/infer') =>
      new Promise((resolve, reject) => {
        const stream = session.request({
          ':method': method,
          ':path': path,
          'content-type': 'application/json',
          ...headers,
        });
        let replyHeaders: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        stream.on('response', (h) => (replyHeaders = h));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          resolve(replyOf(Number(replyHeaders[':status']), replyHeaders, chunks));
        });
        stream.on('error', reject);
        stream.end(method === 'GET' ? undefined : body);
      }),
    close: () => {
      session.close();
    },
  };
}

function http1Client(port: number): Client {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    send: (headers, body, method = 'POST', path = '/v2/models/g/infer') =>
      new Promise((resolve, reject) => {
        const request = http.request(
          {
            host: '127.0.0.1',
            port,
            method,
            path,
            agent,
            headers: { 'content-type': 'application/json', ...headers },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => {
              resolve(replyOf(response.statusCode ?? 0, response.headers, chunks));
            });
          },
        );
        request.on('error', reject);
        request.end(method === 'GET' ? undefined : body);
      }),
    close: () => {
      agent.destroy();
    },
  };
}

for (const [protocol, connect] of [
  ['HTTP/2', http2Client],
  ['HTTP/1.1', http1Client],
] as const) {
  describe(`the executor as an upstream, over ${protocol}`, () => {
    let hops: ScriptedServer;
    let executor: Executor;
    let client: Client;

    before(async () => {
      hops = await startScriptedServer({
        '/default/g/m': () => ({ json: v2Answer }),
        // An output transformer gets its child's answer as a request, and answers.
        '/default/g/post': (r) => ({
          json: { outputs: (r.json as { inputs: unknown }).inputs, model_name: 'wrapped' },
          headers: { 'x-from': 'post' },
        }),
      });
      executor = await startExecutor(envoyProtos(), {
        host: '127.0.0.1',
        port: 0,
        hopUrl: `http://${hops.address}`,
        log: () => undefined,
      });
      client = connect(executor.port);
    });

    after(async () => {
      client.close();
      await executor.stop();
      await hops.stop();
    });

    test('runs the plan in the header and answers with the graph’s answer', async () => {
      const reply = await client.send(
        { [PLAN_HEADER]: JSON.stringify(plan) },
        JSON.stringify(v2Request),
      );
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json, { ...v2Answer, model_name: 'wrapped' });
      assert.equal(reply.headers['x-from'], 'post');
      assert.equal(reply.headers['content-type'], 'application/json');
    });

    test('a body over maxBodyBytes is 413, by its declared length or by what arrives', async () => {
      const big = JSON.stringify({ ...v2Request, padding: 'x'.repeat(300) });
      // Without a declared length: HTTP/1.1 chunks the body, HTTP/2 just sends it.
      const undeclared = protocol === 'HTTP/1.1' ? { 'transfer-encoding': 'chunked' } : {};
      for (const headers of [{ 'content-length': String(big.length) }, undeclared]) {
        const reply = await client.send({ [PLAN_HEADER]: JSON.stringify(plan), ...headers }, big);
        assert.equal(reply.status, 413);
        assert.deepEqual(reply.json, {
          error: {
            graph: 'default/g',
            node: 'post',
            status: 413,
            reason: `the request body of ${String(big.length)} bytes is larger than the graph's maxRequestBytes of 200`,
          },
        });
      }
    });

    test('no plan, or a plan of another version, is answered in the error shape', async () => {
      const none = await client.send({}, '{}');
      assert.equal(none.status, 404);
      assert.match(JSON.stringify(none.json), /requests reach it through Envoy's routes/);
      const newer = await client.send(
        { [PLAN_HEADER]: JSON.stringify({ ...plan, version: 99 }) },
        '{}',
      );
      assert.equal(newer.status, 502);
      assert.match(
        JSON.stringify(newer.json),
        new RegExp(
          `plan of version 99, this executor runs version ${String(EXECUTION_PLAN_VERSION)}`,
        ),
      );
      const ok = await client.send(
        { [PLAN_HEADER]: JSON.stringify(plan) },
        JSON.stringify(v2Request),
      );
      assert.equal(ok.status, 200, 'the executor keeps serving');
    });

    test('a plan named by hash, with no control plane to take it from, is a 503 that names the hash', async () => {
      const hash = planHash(JSON.stringify(plan));
      const started = performance.now();
      const reply = await client.send({ [PLAN_REFERENCE_HEADER]: hash }, JSON.stringify(v2Request));
      assert.equal(reply.status, 503);
      assert.deepEqual(reply.json, {
        error: {
          node: 'executor',
          status: 503,
          reason: `the route names plan ${hash}, and the executor has no plan of that hash from the control plane yet: this executor was started without a control plane to take plans from (give it the control plane xDS address)`,
        },
      });
      // It waited its bound for the plan (500 ms), and not much more: a wide margin.
      const waited = performance.now() - started;
      assert.ok(waited >= 450 && waited < 5_000, `answered after ${String(waited)} ms`);
    });

    test('a plan header as large as a route sets one (16 KiB) is read', async () => {
      const names = Array.from(
        { length: 780 },
        (_, i) => `x-propagated-${String(i).padStart(4, '0')}`,
      );
      const large = JSON.stringify({ ...plan, propagateHeaders: names });
      assert.ok(large.length > 15_000 && large.length <= 16_384, String(large.length));
      const reply = await client.send({ [PLAN_HEADER]: large }, JSON.stringify(v2Request));
      assert.equal(reply.status, 200, reply.text);
    });

    test('answers its readiness path while it takes requests', async () => {
      const reply = await client.send({}, '', 'GET', EXECUTOR_READINESS_PATH);
      assert.equal(reply.status, 200);
    });
  });
}
