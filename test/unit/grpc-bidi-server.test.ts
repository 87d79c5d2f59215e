import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startBidiServer, type BidiServer } from '../../src/executor/transport/grpc-bidi-server.ts';
import {
  frameMessage,
  GrpcStatus,
  MessageReader,
} from '../../src/executor/transport/grpc-framing.ts';

function reasonOf(outcome: ReturnType<MessageReader['push']>): string {
  if (outcome.ok) assert.fail('expected the reader to refuse');
  return outcome.reason;
}

function messagesOf(outcome: ReturnType<MessageReader['push']>): string[] {
  if (!outcome.ok) assert.fail(outcome.reason);
  return outcome.messages.map((message) => message.toString('utf8'));
}

describe('gRPC message framing', () => {
  test('several messages in one chunk, and one message across chunks', () => {
    const reader = new MessageReader(1024);
    const framed = Buffer.concat([
      frameMessage(Buffer.from('one')),
      frameMessage(Buffer.from('')),
      frameMessage(Buffer.from('three')),
    ]);
    assert.deepEqual(messagesOf(reader.push(framed.subarray(0, 10))), ['one']);
    assert.equal(reader.partial, true);
    assert.deepEqual(messagesOf(reader.push(framed.subarray(10, 12))), []);
    assert.deepEqual(messagesOf(reader.push(framed.subarray(12))), ['', 'three']);
    assert.equal(reader.partial, false);
  });

  test('a 1 MiB message in 16 KiB chunks comes out whole, once', () => {
    const body = Buffer.alloc(1024 * 1024, 7);
    body[body.length - 1] = 9;
    const framed = Buffer.concat([frameMessage(body), frameMessage(Buffer.from('next'))]);
    const reader = new MessageReader(2 * 1024 * 1024);
    const messages: Buffer[] = [];
    for (let offset = 0; offset < framed.length; offset += 16 * 1024) {
      const outcome = reader.push(framed.subarray(offset, offset + 16 * 1024));
      if (!outcome.ok) assert.fail(outcome.reason);
      messages.push(...outcome.messages);
    }
    assert.equal(messages.length, 2);
    assert.ok(messages[0]?.equals(body));
    assert.equal(messages[1]?.toString('utf8'), 'next');
  });

  test('a compressed message is refused, not misread', () => {
    const framed = frameMessage(Buffer.from('x'));
    framed[0] = 1;
    assert.match(reasonOf(new MessageReader(1024).push(framed)), /compressed/);
  });

  test('a message over the limit is refused from its prefix alone', () => {
    const prefix = frameMessage(Buffer.from('12345')).subarray(0, 5);
    assert.match(reasonOf(new MessageReader(4).push(prefix)), /5 bytes is over the limit of 4/);
  });
});

const METHOD = '/test.Echo/Chat';

/** Echoes each message upper-cased; "fail" fails the stream, "end" ends it. */
async function startEchoServer(): Promise<BidiServer> {
  return startBidiServer({
    host: '127.0.0.1',
    port: 0,
    path: METHOD,
    maxMessageBytes: 1024,
    open: (call) => ({
      message: (bytes) => {
        const text = bytes.toString('utf8');
        if (text === 'fail') call.fail(GrpcStatus.INTERNAL, 'asked to fail: ünïcode, 100%');
        else if (text === 'end') call.end();
        else call.write(Buffer.from(`${text.toUpperCase()} ${String(call.metadata['x-tag'])}`));
      },
      end: () => {
        call.end();
      },
    }),
  });
}

interface Exchange {
  readonly replies: string[];
  readonly status: grpc.StatusObject;
}

/** A real grpc-js client: the server must speak gRPC as grpc-js understands it. */
function exchange(port: number, path: string, messages: readonly string[], halfClose: boolean) {
  const client = new grpc.Client(`127.0.0.1:${String(port)}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('x-tag', 't1');
  const call = client.makeBidiStreamRequest(
    path,
    (text: string) => Buffer.from(text),
    (bytes: Buffer) => bytes.toString('utf8'),
    metadata,
    { deadline: Date.now() + 5_000 },
  );
  const replies: string[] = [];
  call.on('data', (reply: string) => replies.push(reply));
  call.on('error', () => undefined);
  const done = new Promise<Exchange>((resolve) => {
    call.on('status', (status: grpc.StatusObject) => {
      client.close();
      resolve({ replies, status });
    });
  });
  for (const message of messages) call.write(message);
  if (halfClose) call.end();
  return done;
}

describe('the bidirectional gRPC server, against a grpc-js client', () => {
  let server: BidiServer;
  before(async () => {
    server = await startEchoServer();
  });
  after(async () => {
    await server.close();
  });

  test('messages in order, metadata read, OK when the client half-closes', async () => {
    const result = await exchange(server.port, METHOD, ['a', 'b'], true);
    assert.deepEqual(result.replies, ['A t1', 'B t1']);
    assert.equal(result.status.code, grpc.status.OK);
  });

  test('the server may end first: OK, without the client half-closing', async () => {
    const result = await exchange(server.port, METHOD, ['a', 'end'], false);
    assert.deepEqual(result.replies, ['A t1']);
    assert.equal(result.status.code, grpc.status.OK);
  });

  test('a failure after messages: its status and message reach the client intact', async () => {
    const result = await exchange(server.port, METHOD, ['a', 'fail'], false);
    assert.deepEqual(result.replies, ['A t1']);
    assert.equal(result.status.code, grpc.status.INTERNAL);
    assert.equal(result.status.details, 'asked to fail: ünïcode, 100%');
  });

  test('a failure before any message is a trailers-only answer', async () => {
    const result = await exchange(server.port, METHOD, ['fail'], false);
    assert.deepEqual(result.replies, []);
    assert.equal(result.status.code, grpc.status.INTERNAL);
  });

  test('another method is UNIMPLEMENTED, and the server keeps serving', async () => {
    const result = await exchange(server.port, '/test.Echo/Other', ['a'], true);
    assert.equal(result.status.code, grpc.status.UNIMPLEMENTED);
    assert.match(result.status.details, /no method \/test\.Echo\/Other/);
    assert.equal((await exchange(server.port, METHOD, ['c'], true)).status.code, grpc.status.OK);
  });

  test('a message over the limit is RESOURCE_EXHAUSTED', async () => {
    const result = await exchange(server.port, METHOD, ['x'.repeat(2048)], false);
    assert.equal(result.status.code, grpc.status.RESOURCE_EXHAUSTED);
  });
});
