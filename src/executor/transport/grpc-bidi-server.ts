import { rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type ListenOptions } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { frameMessage, GrpcStatus, MessageReader } from './grpc-framing.ts';
import { EXECUTOR_IDLE_TIMEOUT_MS } from '../../plan/execution.ts';
import { protocolDispatch } from './protocol-dispatch.ts';

export interface BidiCall {
  /** The stream's initial metadata: its HTTP/2 request headers. */
  readonly metadata: http2.IncomingHttpHeaders;
  write(message: Uint8Array): void;
  /** Ends the stream with status OK. */
  end(): void;
  /** Ends the stream with an error status; Envoy sees a failed ext_proc stream. */
  fail(status: number, message: string): void;
}

export interface BidiHandler {
  message(message: Buffer): void;
  /** The client half-closed its side: no more messages will come. */
  end(): void;
}

export interface BidiServerOptions {
  readonly host: string;
  readonly port: number;
  /** A Unix socket to listen on instead of `host` and `port`. */
  readonly socket?: string;
  /** Serve over TLS (ALPN h2 or http/1.1) with this certificate and key; plaintext is then refused. */
  readonly tls?: SecureContextOptions;
  /** The one method served, e.g. /envoy.service.ext_proc.v3.ExternalProcessor/Process. */
  readonly path: string;
  readonly maxMessageBytes: number;
  readonly open: (call: BidiCall) => BidiHandler;
  /** Serves requests for any other path; without it they get gRPC's UNIMPLEMENTED. */
  readonly otherPaths?: (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ) => void;
  /** Serves HTTP/1.1 requests; without it they get 404. */
  readonly http1?: (request: http.IncomingMessage, response: http.ServerResponse) => void;
}

export interface BidiServer {
  /** The port listened on; 0 on a Unix socket. */
  readonly port: number;
  /** New connections use this certificate and key (a rotation); open ones keep theirs. */
  setSecureContext(tls: SecureContextOptions): void;
  /** Stops taking connections and waits for the streams in flight to end. */
  close(): Promise<void>;
}

const GRPC_CONTENT_TYPE = 'application/grpc';

/** grpc-message: UTF-8, with bytes outside printable ASCII, and "%", percent-encoded. */
function encodeStatusMessage(message: string): string {
  let encoded = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/**
 * One gRPC stream: a response's headers go out with its first message, and
 * the status in trailers once the handler ends it.
 */
class StreamCall implements BidiCall {
  readonly metadata: http2.IncomingHttpHeaders;
  readonly #stream: http2.ServerHttp2Stream;
  #status: number = GrpcStatus.OK;
  #statusMessage = '';
  #ended = false;

  constructor(stream: http2.ServerHttp2Stream, metadata: http2.IncomingHttpHeaders) {
    this.#stream = stream;
    this.metadata = metadata;
    stream.on('wantTrailers', () => {
      stream.sendTrailers(
        this.#status === GrpcStatus.OK
          ? { 'grpc-status': '0' }
          : {
              'grpc-status': String(this.#status),
              'grpc-message': encodeStatusMessage(this.#statusMessage),
            },
      );
      // Envoy resets each ext_proc stream (INTERNAL_ERROR) once it has the trailers, and
      // for a reset it did not ask for Node builds an error and its stack trace. Ending
      // the request side ourselves costs a fifth less executor CPU per request (measured A/B).
      endRequestSide(stream);
    });
  }

  #respond(): boolean {
    if (this.#ended || this.#stream.destroyed) return false;
    if (!this.#stream.headersSent) {
      this.#stream.respond(
        { ':status': 200, 'content-type': GRPC_CONTENT_TYPE },
        { waitForTrailers: true },
      );
    }
    return true;
  }

  write(message: Uint8Array): void {
    if (this.#respond()) this.#stream.write(frameMessage(message));
  }

  end(): void {
    if (!this.#respond()) return;
    this.#ended = true;
    this.#stream.end();
  }

  fail(status: number, message: string): void {
    if (this.#ended || this.#stream.destroyed) return;
    if (!this.#stream.headersSent) {
      this.#ended = true;
      answerTrailersOnly(this.#stream, status, message);
      return;
    }
    this.#status = status;
    this.#statusMessage = message;
    this.end();
  }
}

/**
 * Ends a stream's request side "without error" (RFC 9113 §8.1) once its
 * answer is out: not before this turn of the event loop writes the answer,
 * as a reset queued ahead of it drops it.
 */
export function endRequestSide(stream: http2.ServerHttp2Stream): void {
  setImmediate(() => {
    if (!stream.closed && !stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
}

/** An answer with no messages: the status rides in the only HEADERS frame. */
function answerTrailersOnly(stream: http2.ServerHttp2Stream, status: number, message: string) {
  stream.respond(
    {
      ':status': 200,
      'content-type': GRPC_CONTENT_TYPE,
      'grpc-status': String(status),
      'grpc-message': encodeStatusMessage(message),
    },
    { endStream: true },
  );
}

/**
 * Listens in this process even as a cluster worker (`exclusive`): a
 * worker's port is its own, and a primary holding it would take
 * connections for a worker that just died and hand them to nobody, where
 * Envoy, refused, would retry them on another worker.
 */
function listen(server: net.Server, options: ListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...options, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A socket file nobody answers on is what a process that died left behind. */
function isStaleSocket(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ECONNREFUSED');
    });
  });
}

/**
 * Listens on a Unix socket anyone may connect to (the directory's permissions
 * decide who can reach it), taking the path over from a dead process.
 */
async function listenOnSocket(server: net.Server, path: string): Promise<void> {
  const options = { path, readableAll: true, writableAll: true };
  try {
    await listen(server, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !(await isStaleSocket(path))) {
      throw error;
    }
    rmSync(path);
    await listen(server, options);
  }
}

/**
 * A gRPC server for one bidirectional-streaming method, straight on
 * node:http2 (plain HTTP/2 requests on other paths go to `otherPaths`,
 * HTTP/1.1 requests on the same port to `http1`). The
 * executor serves no other method, and grpc-js's general machinery
 * (interceptors, per-call metadata objects, deadline and compression
 * handling) cost more CPU per ext_proc stream than the executor's own work
 * (measured in bench/data-plane.ts; see docs/performance.md).
 */
export async function startBidiServer(options: BidiServerOptions): Promise<BidiServer> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer({
    // Envoy multiplexes every request's ext_proc stream, bodies included, on a few
    // connections; past Node's default of 10 MB a session refuses new streams.
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  const http1 = http1Server(options.http1);
  const front = protocolDispatch({ http2: server, http1: http1.server }, options.tls);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] !== options.path && options.otherPaths) {
      options.otherPaths(stream, headers);
      return;
    }
    if (headers[':method'] !== 'POST' || headers[':path'] !== options.path) {
      answerTrailersOnly(
        stream,
        GrpcStatus.UNIMPLEMENTED,
        `no method ${String(headers[':path'])} here`,
      );
      return;
    }
    if (!String(headers['content-type']).startsWith(GRPC_CONTENT_TYPE)) {
      answerTrailersOnly(
        stream,
        GrpcStatus.INVALID_ARGUMENT,
        'content-type must be application/grpc',
      );
      return;
    }
    const call = new StreamCall(stream, headers);
    const handler = options.open(call);
    const reader = new MessageReader(options.maxMessageBytes);
    let unreadable = false;
    stream.on('data', (chunk: Buffer) => {
      if (unreadable) return;
      const framed = reader.push(chunk);
      if (!framed.ok) {
        unreadable = true;
        call.fail(framed.status, framed.reason);
        return;
      }
      for (const message of framed.messages) handler.message(message);
    });
    stream.on('end', () => {
      if (unreadable) return;
      if (reader.partial) call.fail(GrpcStatus.INVALID_ARGUMENT, 'the stream ended mid-message');
      else handler.end();
    });
  });
  if (options.socket === undefined) await listen(front, { port: options.port, host: options.host });
  else await listenOnSocket(front, options.socket);
  const address = front.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    setSecureContext(context) {
      if (!('setSecureContext' in front)) throw new Error('this server was started without TLS');
      front.setSecureContext(context);
    },
    close: () =>
      new Promise<void>((resolve) => {
        front.close(() => {
          resolve();
        });
        for (const session of sessions) session.close();
        http1.close();
      }),
  };
}

/**
 * The HTTP/1.1 side: Envoy keeps a connection per request in flight and
 * reuses it. Closing ends idle connections at once and busy ones once their
 * answer is out.
 */
function http1Server(
  handler: BidiServerOptions['http1'] = (_request, response) => {
    response.writeHead(404).end();
  },
) {
  const server = http.createServer({
    // A route's plan header alone may take 16 KiB, beside the client's own headers.
    maxHeaderSize: 128 * 1024,
    keepAliveTimeout: 2 * EXECUTOR_IDLE_TIMEOUT_MS,
    // Envoy's route timeout bounds every request.
    requestTimeout: 0,
  });
  const inFlight = new Map<net.Socket, number>();
  let closing = false;
  server.on('connection', (socket: net.Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const { socket } = request;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      if (closing && left === 0) socket.destroy();
    });
    handler(request, response);
  });
  return {
    server,
    close() {
      closing = true;
      for (const [socket, requests] of inFlight) if (requests === 0) socket.destroy();
    },
  };
}
