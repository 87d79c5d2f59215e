import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { post, waitFor } from '../support/http.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { jsonOf, postChunked, postHttp2 } from '../support/wire.ts';

/**
 * maxRequestBytes through a real Envoy, on every kind of graph: a body over
 * the limit gets 413 in the error shape whether its length is declared or
 * it streams in chunks (HTTP/1.1) or frames (HTTP/2), and a body under the
 * limit still streams to the model, unbuffered. Once a model has started
 * its answer, a 413 can no longer be sent: the stream is cut instead.
 */

const LIMIT = 4096;

/** A V2 request of exactly `bytes` bytes. */
function payloadOf(bytes: number): string {
  const base = JSON.stringify({
    inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }],
    parameters: { pad: '' },
  });
  return base.replace('"pad":""', `"pad":"${'p'.repeat(bytes - base.length)}"`);
}

/** `limit` null: the default. */
function graph(name: string, entry: string, nodes: string, limit: number | null = LIMIT) {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: ${entry}
${limit === null ? '' : `  maxRequestBytes: ${String(limit)}\n`}  nodes:
${nodes}`;
}

/** A model that starts its answer as soon as the request's head arrives, then counts the body. */
async function startEarlyAnswerer(): Promise<{ address: string; stop(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('started;');
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => response.end(`received ${String(bytes)}`));
    request.on('error', () => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => server.close(), 10 * 60_000);
  timer.unref();
  return {
    address: `127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    stop: () =>
      new Promise((resolve) => {
        clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('maxRequestBytes on every path, through a real Envoy', () => {
  let sink: ScriptedServer;
  let early: Awaited<ReturnType<typeof startEarlyAnswerer>>;
  let stack: Stack;

  const received = (r: { raw: Buffer }) => ({
    json: {
      outputs: [{ name: 'bytes', shape: [1], datatype: 'INT64', data: [r.raw.length] }],
    },
  });

  before(async () => {
    sink = await startScriptedServer({
      '/v2/models/sink/infer': received,
      '/v2/models/other/infer': received,
    });
    early = await startEarlyAnswerer();
    const model = (name: string, served = 'sink') =>
      `    ${name}: { kind: model, model: ${served}, endpoint: { addresses: ["${sink.address}"] } }\n`;
    stack = await startStack('body-limits', {
      'native.yaml': [
        graph('model', 'm', model('m')),
        graph(
          'split',
          's',
          `    s: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: b, weight: 1 }] }\n${model('a')}${model('b')}`,
        ),
        graph(
          'switch',
          's',
          `    s: { kind: switch, cases: [{ when: { header: x-tier, equals: gold }, to: a }], default: b }\n${model('a')}${model('b')}`,
        ),
        graph(
          'mirror',
          's',
          `    s: { kind: mirror, to: a, shadow: b }\n${model('a')}${model('b')}`,
        ),
        graph(
          'body',
          's',
          `    s: { kind: switch, cases: [{ when: { body: "$.parameters.tier", equals: gold }, to: a }], default: b }\n${model('a')}${model('b')}`,
        ),
        graph('roomy', 'm', model('m'), null),
        graph(
          'early',
          'm',
          `    m: { kind: model, endpoint: { addresses: ["${early.address}"] } }\n`,
        ),
      ].join('---\n'),
      'executor.yaml': [
        // An ensemble the executor answers itself (its upstream route)...
        graph(
          'ensemble',
          'e',
          `    e: { kind: ensemble, children: [a, b], combine: merge }\n${model('a')}${model('b', 'other')}`,
        ),
        // ...a sequence whose last step it hands back to Envoy (ext_proc)...
        graph(
          'handoff',
          'q',
          `    q: { kind: sequence, steps: [{ node: a }, { node: b }] }\n${model('a')}${model('b')}`,
        ),
        // ...and a graph that nests a native one, each with its own limit.
        graph(
          'outer',
          'q',
          `    q: { kind: sequence, steps: [{ node: inner }] }\n    inner: { kind: graph, graph: model }\n`,
          2048,
        ),
      ].join('---\n'),
    });
    await waitFor('every graph to answer', async () => {
      for (const name of ['model', 'ensemble', 'handoff', 'outer']) {
        const reply = await post(
          `${stack.base}/v2/models/${name}/infer`,
          JSON.parse(payloadOf(200)),
        );
        if (reply.status !== 200) return false;
      }
      return true;
    });
  });

  after(async () => {
    await stack.stop();
    await Promise.all([sink.stop(), early.stop()]);
  });

  const url = (name: string) => `${stack.base}/v2/models/${name}/infer`;

  function assertTooLarge(name: string, limit: number, reply: { status: number; json: unknown }) {
    assert.equal(reply.status, 413, `${name}: ${JSON.stringify(reply.json)}`);
    const error = (reply.json as { error?: Record<string, unknown> }).error;
    assert.equal(error?.graph, `default/${name}`, name);
    assert.equal(error.status, 413);
    assert.equal(
      error.reason,
      `the request body is larger than the graph's maxRequestBytes of ${String(limit)}`,
    );
  }

  const graphs = [
    'model',
    'split',
    'switch',
    'mirror',
    'body',
    'ensemble',
    'handoff',
    'outer',
  ] as const;
  const limitOf = (name: string) => (name === 'outer' ? 2048 : LIMIT);

  test('a declared length over the limit gets 413 on every kind of graph, one under it passes', async () => {
    for (const name of graphs) {
      const over = await post(url(name), JSON.parse(payloadOf(2 * LIMIT)));
      assertTooLarge(name, limitOf(name), over);
      const under = await post(url(name), JSON.parse(payloadOf(1500)));
      assert.equal(under.status, 200, `${name}: ${under.text}`);
    }
  });

  test('a body streamed in chunks over HTTP/1.1 is counted as it comes: 413 past the limit', async () => {
    for (const name of graphs) {
      const body = Buffer.from(payloadOf(2 * LIMIT));
      const chunks = [body.subarray(0, 1000), body.subarray(1000, 5000), body.subarray(5000)];
      const over = await postChunked(url(name), chunks);
      assertTooLarge(name, limitOf(name), { status: over.status, json: jsonOf(over) });
      const under = await postChunked(url(name), [Buffer.from(payloadOf(1500))]);
      assert.equal(under.status, 200, `${name}: ${under.text}`);
    }
  });

  test('a body over HTTP/2 without a declared length: 413 past the limit', async () => {
    for (const name of graphs) {
      const path = `/v2/models/${name}/infer`;
      const over = await postHttp2(stack.base, path, Buffer.from(payloadOf(4 * LIMIT)), {
        declareLength: false,
      });
      assertTooLarge(name, limitOf(name), { status: over.status, json: jsonOf(over) });
      const under = await postHttp2(stack.base, path, Buffer.from(payloadOf(1500)), {
        declareLength: false,
      });
      assert.equal(under.status, 200, `${name}: ${under.text}`);
    }
  });

  test('the default limit is 10 MiB: 11 MiB is refused, declared or chunked', async () => {
    const big = Buffer.from(payloadOf(11 * 1024 * 1024));
    const declared = await post(url('roomy'), JSON.parse(big.toString()));
    assertTooLarge('roomy', 10 * 1024 * 1024, declared);
    const chunks = Array.from({ length: 11 }, (_, i) =>
      big.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024),
    );
    const chunked = await postChunked(url('roomy'), chunks);
    assertTooLarge('roomy', 10 * 1024 * 1024, { status: chunked.status, json: jsonOf(chunked) });
    const nine = await postChunked(url('roomy'), [Buffer.from(payloadOf(9 * 1024 * 1024))]);
    assert.equal(nine.status, 200, nine.text);
  });

  test('a body under the limit streams: the model answers before the client has sent it all', async () => {
    const result = await sendRestOnceAnswered(url('early'), [
      Buffer.from('a'.repeat(1000)),
      Buffer.from('b'.repeat(1000)),
    ]);
    assert.equal(result.status, 200);
    assert.equal(result.text, 'started;received 2000');
    assert.equal(result.cut, false);
  });

  test('a body that passes the limit after the model started answering is cut, not answered 413', async () => {
    const result = await sendRestOnceAnswered(url('early'), [
      Buffer.from('a'.repeat(1000)),
      Buffer.from('b'.repeat(LIMIT)),
    ]);
    assert.equal(result.status, 200, 'the answer had begun');
    assert.equal(result.cut, true, 'the stream is reset when the count passes the limit');
    assert.ok(result.text.startsWith('started;'), result.text);
    assert.ok(!result.text.includes('received'), 'the model never saw the whole body');
  });
});

/**
 * Sends the first part of a chunked body, and the rest only once the
 * answer's head has arrived: were Envoy holding the body back, the answer
 * could never begin, and this fails after 10 s.
 */
function sendRestOnceAnswered(target: string, parts: readonly Buffer[]) {
  return new Promise<{ status: number; text: string; cut: boolean }>((resolve, reject) => {
    const request = http.request(target, { method: 'POST', agent: false });
    const timer = setTimeout(() => {
      request.destroy(new Error('the answer never began: the body was held back'));
    }, 10_000);
    request.on('response', (response) => {
      for (const part of parts.slice(1)) request.write(part);
      request.end();
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      let done = false;
      const finish = (cut: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString(), cut });
      };
      response.on('end', () => {
        finish(!response.complete);
      });
      response.on('aborted', () => {
        finish(true);
      });
      response.on('error', () => {
        finish(true);
      });
      response.on('close', () => {
        finish(!response.complete);
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const [first] = parts;
    if (first) request.write(first);
  });
}
