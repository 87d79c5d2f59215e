import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { startExecutor, type Executor } from '../../src/executor/transport/server.ts';
import {
  EXECUTION_PLAN_VERSION,
  PLAN_HEADER,
  PLAN_REFERENCE_HEADER,
  type ExecutionPlan,
} from '../../src/plan/execution.ts';
import { planHash } from '../../src/plan/plan-hash.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';

/**
 * The executor as Envoy's upstream, without Envoy: HTTP/2 requests carrying
 * the plan header the route would set, its hop calls answered by a scripted
 * server standing in for the hop listener. Envoy's side is end-to-end tested.
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
  readonly headers: http2.IncomingHttpHeaders;
  readonly json: unknown;
}

function send(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/v2/models/g/infer',
      'content-type': 'application/json',
      ...headers,
    });
    let replyHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (replyHeaders = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({
        status: Number(replyHeaders[':status']),
        headers: replyHeaders,
        json: JSON.parse(text) as unknown,
      });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

describe('the executor as an upstream', () => {
  let hops: ScriptedServer;
  let executor: Executor;
  let session: http2.ClientHttp2Session;

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
    session = http2.connect(`http://127.0.0.1:${String(executor.port)}`);
  });

  after(async () => {
    session.close();
    await executor.stop();
    await hops.stop();
  });

  test('runs the plan in the header and answers with the graph’s answer', async () => {
    const reply = await send(
      session,
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
    for (const headers of [{ 'content-length': String(big.length) }, {}]) {
      const reply = await send(session, { [PLAN_HEADER]: JSON.stringify(plan), ...headers }, big);
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
    const none = await send(session, {}, '{}');
    assert.equal(none.status, 404);
    assert.match(JSON.stringify(none.json), /requests reach it through Envoy's routes/);
    const newer = await send(
      session,
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
    const ok = await send(
      session,
      { [PLAN_HEADER]: JSON.stringify(plan) },
      JSON.stringify(v2Request),
    );
    assert.equal(ok.status, 200, 'the executor keeps serving');
  });

  test('a plan named by hash, with no control plane to take it from, is a 503 that names the hash', async () => {
    const hash = planHash(JSON.stringify(plan));
    const started = performance.now();
    const reply = await send(session, { [PLAN_REFERENCE_HEADER]: hash }, JSON.stringify(v2Request));
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
});
