import type http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import tls, { type SecureContextOptions } from 'node:tls';

/** What an HTTP/2 client sends first, with prior knowledge (RFC 9113 §3.4). */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function isHttp2Preface(head: Buffer): boolean {
  return head.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE);
}

/** Whether `head` may still grow into the preface: too short to tell yet. */
function mayBecomePreface(head: Buffer): boolean {
  return head.length < HTTP2_PREFACE.length && HTTP2_PREFACE.subarray(0, head.length).equals(head);
}

/**
 * How long a cleartext connection may stay silent before it says which
 * protocol it speaks: Envoy writes as soon as it connects, and a connection
 * that never does would otherwise be held for good.
 */
const FIRST_BYTES_TIMEOUT_MS = 10_000;

/**
 * Reads a cleartext connection's first bytes to tell HTTP/2 with prior
 * knowledge from HTTP/1.1, then gives the connection, bytes put back, to the
 * server that speaks it.
 */
function dispatchCleartext(
  socket: net.Socket,
  servers: ProtocolServers,
  firstBytesTimeoutMs: number,
): void {
  let head: Buffer = Buffer.alloc(0);
  const silent = () => socket.destroy();
  socket.setTimeout(firstBytesTimeoutMs);
  socket.once('timeout', silent);
  const onData = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    if (mayBecomePreface(head)) return;
    // The protocol's own server decides its timeouts from here.
    socket.setTimeout(0);
    socket.off('timeout', silent);
    socket.off('data', onData);
    socket.pause();
    socket.unshift(head);
    if (isHttp2Preface(head)) {
      // The HTTP/2 session reads what the socket holds when it starts.
      servers.http2.emit('connection', socket);
      return;
    }
    servers.http1.emit('connection', socket);
    // Node's HTTP/1 parser reads the socket's buffer only once the socket flows again.
    socket.resume();
  };
  socket.on('data', onData);
}

export interface ProtocolServers {
  readonly http2: http2.Http2Server;
  readonly http1: http.Server;
}

/**
 * One listening server for two protocols: Envoy reaches the executor's
 * ext_proc service over HTTP/2 and its upstream routes over HTTP/1.1, where
 * Node spends half the CPU per request (docs/decisions/0059). Over TLS,
 * ALPN decides; in cleartext, the connection's first bytes do. Neither
 * protocol server listens itself: this one hands each its connections.
 */
export function protocolDispatch(
  servers: ProtocolServers,
  secure: SecureContextOptions | undefined,
  firstBytesTimeoutMs = FIRST_BYTES_TIMEOUT_MS,
): net.Server | tls.Server {
  if (!secure) {
    return net.createServer((socket) => {
      // A connection reset before it said anything is nobody's concern.
      socket.on('error', () => undefined);
      dispatchCleartext(socket, servers, firstBytesTimeoutMs);
    });
  }
  const server = tls.createServer({ ...secure, ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => {
    socket.on('error', () => undefined);
    (socket.alpnProtocol === 'h2' ? servers.http2 : servers.http1).emit('connection', socket);
  });
  // A client that fails the handshake (plaintext, another CA) is its own problem, not the server's.
  server.on('tlsClientError', () => undefined);
  return server;
}
