import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';

/**
 * The least an executor does per request, on one protocol: read the body,
 * answer a small V2 JSON body. `answer-server.ts http1|http2 PORT`.
 */
const answer = Buffer.from(
  JSON.stringify({
    model_name: 'm',
    outputs: [{ name: 'o', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
  }),
);
const [protocol, port] = process.argv.slice(2);

function handle(
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
): void {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': answer.length,
    });
    response.end(answer);
  });
}

// Longer than Envoy keeps an idle connection, so Envoy, not the server, closes it.
const server =
  protocol === 'http1'
    ? createServer({ keepAliveTimeout: 3_600_000 }, (request, response) => {
        handle(request, response);
      })
    : createHttp2Server((request, response) => {
        handle(request, response);
      });
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`READY ${String(port)}\n`));
process.on('SIGTERM', () => process.exit(0));
