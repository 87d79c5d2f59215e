import http from 'node:http';
import http2 from 'node:http2';
import { connect } from 'node:net';

/**
 * Requests as clients put them on the wire, for what undici's pooled
 * requests cannot show: bodies streamed in chunks without a length, over
 * HTTP/1.1 or HTTP/2, answers that start before the body ends, and bytes
 * that are not valid HTTP at all.
 */

export interface WireReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The stream ended early: reset, or the connection closed mid-answer. */
  readonly cut: boolean;
}

const TIME_LIMIT_MS = 30_000;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function jsonOf(reply: WireReply): unknown {
  return parseJson(reply.text);
}

/**
 * POSTs `chunks` over HTTP/1.1 with chunked transfer encoding, each after
 * `pauseMs`; `whenAnswered` is called once the answer's head arrives (the
 * rest of the body may still be unsent).
 */
export function postChunked(
  url: string,
  chunks: readonly Buffer[],
  options: { pauseMs?: number; headers?: Record<string, string> } = {},
  whenAnswered?: (status: number) => void,
): Promise<WireReply> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', ...options.headers },
    });
    const timer = setTimeout(() => request.destroy(new Error('no answer in time')), TIME_LIMIT_MS);
    let answered: WireReply | undefined;
    request.on('response', (response) => {
      whenAnswered?.(response.statusCode ?? 0);
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      const finish = (cut: boolean) => {
        clearTimeout(timer);
        answered ??= {
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(parts).toString('utf8'),
          cut,
        };
        resolve(answered);
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
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void (async () => {
      for (const chunk of chunks) {
        if (request.destroyed) return;
        if (options.pauseMs !== undefined) {
          await new Promise((r) => setTimeout(r, options.pauseMs));
        }
        request.write(chunk);
      }
      request.end();
    })();
  });
}

/** POSTs `body` over HTTP/2 (prior knowledge), with or without a content-length. */
export function postHttp2(
  base: string,
  path: string,
  body: Buffer,
  options: { declareLength: boolean },
): Promise<WireReply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/json',
      ...(options.declareLength && { 'content-length': body.length }),
    });
    const timer = setTimeout(() => {
      stream.close();
    }, TIME_LIMIT_MS);
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    const parts: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    stream.on('data', (part: Buffer) => parts.push(part));
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({
        status,
        headers,
        text: Buffer.concat(parts).toString('utf8'),
        cut: stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR,
      });
    });
    stream.on('error', () => undefined);
    // In pieces, as a client streams: HTTP/2 carries no length unless the client declares one.
    for (let at = 0; at < body.length; at += 16_384) stream.write(body.subarray(at, at + 16_384));
    stream.end();
  });
}

/**
 * Writes `bytes` to host:port as they are and returns the first answer that
 * comes back: whole once its content-length has arrived, or whatever came
 * before the peer closed.
 */
export function rawExchange(host: string, port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let received = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received.toString('utf8'));
    };
    const timer = setTimeout(done, TIME_LIMIT_MS);
    // Not ended: Envoy drops a connection the client half-closes before it answers.
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (part: Buffer) => {
      received = Buffer.concat([received, part]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.subarray(0, headEnd).toString());
      if (length && received.length >= headEnd + 4 + Number(length[1])) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
  });
}

/** The status and JSON body of a raw HTTP/1.1 answer. */
export function parseRawAnswer(raw: string): { status: number; json: unknown } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, json: parseJson(rest.join('\r\n\r\n')) };
}
