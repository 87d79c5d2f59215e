import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { protocolDispatch } from '../../src/executor/transport/protocol-dispatch.ts';
import { makeTestCa } from '../support/test-pki.ts';

function servers() {
  const h1 = http.createServer((_request, response) => {
    response.end('http/1.1');
  });
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('h2');
  });
  return { http1: h1, http2: h2 };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function http2Get(authority: string, options: http2.SecureClientSessionOptions = {}) {
  return new Promise<string>((resolve, reject) => {
    const session = http2.connect(authority, options);
    session.on('error', reject);
    const stream = session.request({ ':path': '/' });
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('end', () => {
      session.close();
      resolve(text);
    });
    stream.end();
  });
}

/** Sends `pieces` one by one, a few milliseconds apart, and reads the answer to the end. */
function rawExchange(port: number, pieces: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => {
      resolve(text);
    });
    socket.on('error', reject);
    void (async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  });
}

/** An HTTP/1.1 GET over TLS offering `alpn` (or no ALPN at all). */
function http1OverTls(port: number, ca: string, alpn: string[] | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        createConnection: () =>
          tls.connect({
            host: '127.0.0.1',
            port,
            ca,
            servername: 'localhost',
            ...(alpn && { ALPNProtocols: alpn }),
          }),
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          resolve(body);
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}

describe('one port for HTTP/1.1 and HTTP/2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-dispatch-'));
  let ca: string;
  let cleartext: net.Server;
  let secure: tls.Server | net.Server;
  let cleartextPort: number;
  let securePort: number;

  before(async () => {
    cleartext = protocolDispatch(servers(), undefined, 300);
    cleartextPort = await listen(cleartext);
    const testCa = await makeTestCa(dir);
    ca = testCa.cert;
    const server = await testCa.issue('server', {
      commonName: 'localhost',
      hosts: ['localhost'],
      usage: 'server',
    });
    secure = protocolDispatch(servers(), { cert: server.cert, key: server.key });
    securePort = await listen(secure);
  });

  after(() => {
    cleartext.close();
    secure.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('in cleartext, the HTTP/2 preface goes to the HTTP/2 server, anything else to HTTP/1.1', async () => {
    assert.equal(await http2Get(`http://127.0.0.1:${String(cleartextPort)}`), 'h2');
    const response = await fetch(`http://127.0.0.1:${String(cleartextPort)}/`);
    assert.equal(await response.text(), 'http/1.1');
  });

  test('a request that arrives a few bytes at a time, starting as the preface does, is HTTP/1.1', async () => {
    const text = await rawExchange(cleartextPort, [
      'P',
      'O',
      'ST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    ]);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*http\/1\.1$/);
  });

  test('a cleartext connection that says nothing is closed; one that spoke is kept past that', async () => {
    const started = performance.now();
    const silent = net.connect(cleartextPort, '127.0.0.1');
    await new Promise((resolve) => silent.once('close', resolve));
    const waited = performance.now() - started;
    assert.ok(waited >= 250 && waited < 5_000, `closed after ${String(waited)} ms`);

    const kept = net.connect(cleartextPort, '127.0.0.1');
    let closed = false;
    kept.once('close', () => (closed = true));
    kept.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(closed, false, 'an HTTP/1.1 connection is kept alive by its own server');
    kept.destroy();
  });

  test('over TLS, ALPN decides: h2 to HTTP/2, http/1.1 or none to HTTP/1.1', async () => {
    const authority = `https://127.0.0.1:${String(securePort)}`;
    assert.equal(await http2Get(authority, { ca, servername: 'localhost' }), 'h2');
    assert.equal(await http1OverTls(securePort, ca, ['http/1.1']), 'http/1.1');
    assert.equal(await http1OverTls(securePort, ca, undefined), 'http/1.1');
  });
});
