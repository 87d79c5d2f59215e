import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HopTimeoutError } from '../../src/executor/interpreter/hops.ts';
import { HopAnswerTooLargeError, HopClient } from '../../src/executor/transport/hop-client.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';

/** The executor's HTTP client for hops, against a loopback server standing in for Envoy. */
describe('HopClient', () => {
  let server: ScriptedServer;
  let hops: HopClient;

  before(async () => {
    server = await startScriptedServer({
      '/echo': (request) => ({
        bytes: request.raw,
        headers: { 'x-seen': String(request.headers['x-trace']) },
      }),
      '/chunked': () => ({ chunks: ['one ', 'two ', 'three'] }),
      '/failing': () => ({ status: 503, text: 'overloaded' }),
      '/slow': () => ({ delayMs: 1_000, text: 'late' }),
      '/big': () => ({ bytes: Buffer.alloc(4_096, 'x') }),
    });
    hops = new HopClient(`http://${server.address}`);
  });

  after(async () => {
    await hops.close();
    await server.stop();
  });

  test('sends the body and headers, and returns the answer with its headers', async () => {
    const answer = await hops.call('/echo', Buffer.from('{"a":1}'), { 'x-trace': 't1' }, 2_000);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.toString('utf8'), '{"a":1}');
    assert.equal(answer.headers.get('x-seen'), 't1');
    assert.equal(server.requests.at(-1)?.headers['x-trace'], 't1');
  });

  test('joins an answer that arrives in several chunks', async () => {
    const answer = await hops.call('/chunked', Buffer.from('x'), {}, 2_000);
    assert.equal(answer.body.toString('utf8'), 'one two three');
    assert.equal(answer.headers.get('content-type'), 'text/event-stream');
  });

  test('returns an error status as an answer, for the graph to judge', async () => {
    const answer = await hops.call('/failing', Buffer.from('x'), {}, 2_000);
    assert.equal(answer.status, 503);
    assert.equal(answer.body.toString('utf8'), 'overloaded');
  });

  test('gives up on a node that does not answer in time', async () => {
    await assert.rejects(hops.call('/slow', Buffer.from('x'), {}, 100), HopTimeoutError);
    const answer = await hops.call('/echo', Buffer.from('after'), {}, 2_000);
    assert.equal(answer.body.toString('utf8'), 'after');
  });

  test('cuts off an answer past its limit, declared or streamed, and keeps working', async () => {
    const small = new HopClient(`http://${server.address}`, 8);
    try {
      // 4,096 bytes with a content-length: refused before any is read.
      await assert.rejects(small.call('/big', Buffer.from('x'), {}, 2_000), HopAnswerTooLargeError);
      // Chunks with no declared length: refused once the bytes received pass 8.
      await assert.rejects(
        small.call('/chunked', Buffer.from('x'), {}, 2_000),
        /larger than the executor's limit of 8 bytes/,
      );
      const answer = await small.call('/echo', Buffer.from('fits'), {}, 2_000);
      assert.equal(answer.body.toString('utf8'), 'fits');
    } finally {
      await small.close();
    }
  });

  test('rejects, not as a timeout, when nothing listens', async () => {
    const nowhere = new HopClient('http://127.0.0.1:9');
    try {
      await assert.rejects(nowhere.call('/echo', Buffer.from('x'), {}, 2_000), (error) => {
        assert.ok(!(error instanceof HopTimeoutError));
        assert.match(String(error), /ECONNREFUSED/);
        return true;
      });
    } finally {
      await nowhere.close();
    }
  });
});
