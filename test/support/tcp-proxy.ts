import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A loopback TCP proxy whose connections a test can cut, to play a network failure. */
export interface TcpProxy {
  readonly port: number;
  /** Resets every open connection at once, as a broken network path would. */
  cut(): void;
  /** Cuts every connection and resets new ones until `up`: the far end is gone. */
  down(): void;
  up(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) {
      // Node refuses to reset a socket whose FIN is still going out (EINVAL) yet marks it
      // closing, so it is never closed and the process cannot exit: such a socket is ending anyway.
      if (socket.writableEnded) socket.destroy();
      else socket.resetAndDestroy();
    }
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    down() {
      refusing = true;
      cut();
    },
    up() {
      refusing = false;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => {
          resolve();
        });
      }),
  };
}
