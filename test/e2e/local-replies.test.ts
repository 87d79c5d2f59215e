import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { inParallel, post, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { parseRawAnswer, rawExchange } from '../support/wire.ts';

/**
 * Every answer Envoy makes on its own reaches the client in the one error
 * shape, with its own status: a codec's refusal, headers too large, no
 * route, a node unreachable, one that speaks no HTTP, one too slow, a
 * circuit breaker open, the executor gone; answers Switchyard wrote itself
 * (direct responses, the executor's) pass through as written.
 */

function graph(name: string, entry: string, nodes: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: ${entry}
  nodes:
${nodes}`;
}

/** A server that answers every request with bytes that are not HTTP. */
async function startGarbageServer(): Promise<{ address: string; server: Server }> {
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.end('HTTP/1.1 200 OK\r\nthis line is no header\r\n\r\nhello');
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${String((server.address() as AddressInfo).port)}`, server };
}

type ErrorBody = { error: { graph?: string; node?: string; status: number; reason: string } };

describe('Envoy’s own answers, through a real Envoy, in the error shape', () => {
  let model: SampleModel;
  let slow: SampleModel;
  let garbage: Awaited<ReturnType<typeof startGarbageServer>>;
  let stack: Stack;
  let port = 0;

  before(async () => {
    model = await startSampleModel({ name: 'm', version: 'ok' });
    slow = await startSampleModel({ name: 'slow', delayMs: 1500 });
    garbage = await startGarbageServer();
    const at = (address: string) => `{ addresses: ["${address}"] }`;
    const local = (served: SampleModel) => at(`127.0.0.1:${String(served.port)}`);
    stack = await startStack('local-replies', {
      'graphs.yaml': [
        graph('ok', 'm', `    m: { kind: model, endpoint: ${local(model)} }\n`),
        graph(
          'dead',
          'gone',
          `    gone: { kind: model, endpoint: ${at(`127.0.0.1:${String(await freePort())}`)} }\n`,
        ),
        graph('garbage', 'liar', `    liar: { kind: model, endpoint: ${at(garbage.address)} }\n`),
        graph(
          'slow',
          'slow',
          `    slow: { kind: model, timeout: 200ms, endpoint: ${local(slow)} }\n`,
        ),
        graph(
          'narrow',
          'slow',
          `    slow:
      kind: model
      endpoint: ${local(slow)}
      circuitBreaker: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 1 }
`,
        ),
        graph(
          'strict',
          'pick',
          `    pick: { kind: switch, cases: [{ when: { header: x-tier, equals: gold }, to: m }] }
    m: { kind: model, endpoint: ${local(model)} }
`,
        ),
        graph(
          'ensemble',
          'e',
          `    e: { kind: ensemble, children: [m], combine: merge }
    m: { kind: model, endpoint: ${local(model)} }
`,
        ),
        graph(
          'handoff',
          'pick',
          `    pick:
      kind: switch
      cases: [{ when: { body: "$.inputs[0].data[0]", in: [1] }, to: m }]
    m: { kind: model, endpoint: ${local(model)} }
`,
        ),
      ].join('---\n'),
    });
    port = Number(new URL(stack.base).port);
    await waitFor('the graphs to answer', async () => {
      try {
        return (
          (await post(`${stack.base}/v2/models/ok/infer`)).status === 200 &&
          (await post(`${stack.base}/v2/models/ensemble/infer`)).status === 200
        );
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await stack.stop();
    await Promise.all([model.stop(), slow.stop()]);
    garbage.server.close();
  });

  const url = (name: string) => `${stack.base}/v2/models/${name}/infer`;

  function assertShape(
    reply: { status: number; json: unknown; headers?: Record<string, unknown> },
    status: number,
    fields: { graph?: string; node?: string; reason: RegExp },
  ) {
    assert.equal(reply.status, status, JSON.stringify(reply.json));
    const error = (reply.json as ErrorBody | undefined)?.error;
    assert.ok(error, `an error shape: ${JSON.stringify(reply.json)}`);
    assert.deepEqual(Object.keys(error).sort(), [
      ...(fields.graph === undefined ? [] : ['graph']),
      ...(fields.node === undefined ? [] : ['node']),
      'reason',
      'status',
    ]);
    assert.equal(error.graph, fields.graph);
    assert.equal(error.node, fields.node);
    assert.equal(error.status, status);
    assert.match(error.reason, fields.reason);
    if (reply.headers) assert.equal(reply.headers['content-type'], 'application/json');
  }

  test('431: headers larger than Envoy takes, before any route is chosen', async () => {
    const answer = parseRawAnswer(
      await rawExchange(
        '127.0.0.1',
        port,
        `GET /v2/models/ok/infer HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(100 * 1024)}\r\n\r\n`,
      ),
    );
    assertShape(answer, 431, { reason: /^the request headers are larger than Envoy accepts/ });
  });

  test('400: bytes that are not valid HTTP, and HTTP/1.1 without a Host', async () => {
    const malformed = parseRawAnswer(
      await rawExchange(
        '127.0.0.1',
        port,
        'POST /v2/models/ok/infer HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      ),
    );
    assertShape(malformed, 400, {
      reason: /^the request is not valid HTTP \(http1\.codec_error\)/,
    });
    const hostless = parseRawAnswer(
      await rawExchange('127.0.0.1', port, 'GET /v2/models/ok/infer HTTP/1.1\r\n\r\n'),
    );
    assertShape(hostless, 400, { reason: /missing_host_header/ });
  });

  test('404: no graph on this host and path', async () => {
    const reply = await post(url('nothing-here'));
    assertShape({ ...reply }, 404, {
      reason: /^no inference graph is served on this host and path$/,
    });
  });

  test('413: a body over the graph’s limit', async () => {
    const response = await request(url('ok'), {
      method: 'POST',
      body: 'x'.repeat(11 * 1024 * 1024),
    });
    const reply = { status: response.statusCode, json: await response.body.json() };
    assertShape(reply, 413, {
      graph: 'default/ok',
      node: 'm',
      reason: /^the request body is larger than the graph's maxRequestBytes of 10485760$/,
    });
  });

  test('502: a node that cannot be reached, and one that answers no valid HTTP', async () => {
    assertShape(await post(url('dead')), 502, {
      graph: 'default/dead',
      node: 'gone',
      reason: /^the node could not be reached: /,
    });
    const lying = await post(url('garbage'));
    assertShape(lying, 502, {
      graph: 'default/garbage',
      node: 'liar',
      reason: /^the node could not be reached: .*protocol_error/,
    });
  });

  test('504: a node over its timeout; 503: a node’s circuit breaker open', async () => {
    assertShape(await post(url('slow')), 504, {
      graph: 'default/slow',
      node: 'slow',
      reason: /^the node did not answer within its timeout$/,
    });
    const replies = await inParallel(6, 6, () => post(url('narrow')));
    const refused = replies.filter((r) => r.status === 503);
    assert.ok(refused.length > 0, `statuses ${replies.map((r) => r.status).join(', ')}`);
    for (const reply of refused) {
      assertShape(reply, 503, {
        graph: 'default/narrow',
        node: 'slow',
        reason: /^the node's circuit breaker is open/,
      });
    }
  });

  test('any other answer Envoy makes itself keeps its status, in the shape', async () => {
    // An upgrade to a protocol no route takes: Envoy refuses it on its own.
    const answer = parseRawAnswer(
      await rawExchange(
        '127.0.0.1',
        port,
        'GET /v2/models/ok/infer HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      ),
    );
    assert.notEqual(answer.status, 200);
    assertShape(answer, answer.status, {
      graph: 'default/ok',
      node: 'm',
      reason: /^Envoy answered the request itself: .*\(upgrade_failed\)$/,
    });
  });

  test('what Switchyard wrote itself passes unchanged: a switch’s 404, the executor’s answers', async () => {
    assertShape(await post(url('strict')), 404, {
      graph: 'default/strict',
      node: 'pick',
      reason: /^no case of switch "pick" matched the request, and it has no default$/,
    });
    // The executor's answer through ext_proc (a local reply too): its 400, its reason.
    const response = await request(url('handoff'), { method: 'POST', body: 'not json' });
    assertShape({ status: response.statusCode, json: await response.body.json() }, 400, {
      graph: 'default/handoff',
      node: 'pick',
      reason: /^the request cannot be read: the payload is not JSON/,
    });
  });

  test('503: the executor gone, on both its routes', async () => {
    await stack.executor?.stop();
    stack.executor = undefined;
    try {
      assertShape(await post(url('ensemble')), 503, {
        graph: 'default/ensemble',
        node: 'e',
        reason: /^the Switchyard executor is unavailable/,
      });
      assertShape(await post(url('handoff')), 503, {
        graph: 'default/handoff',
        node: 'pick',
        reason: /^the Switchyard executor is unavailable/,
      });
    } finally {
      await stack.startExecutor();
    }
  });
});
