import { createServer } from 'node:net';

/**
 * Ports this process was handed already: the kernel may offer a port again
 * once its probe socket closes, and two parts of one test (a listener and
 * a hop listener, say) must never get the same one.
 */
const handedOut = new Set<number>();

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(undefined);
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(address && typeof address === 'object' ? address.port : undefined);
      });
    });
  });
}

/** A port that was free on loopback a moment ago, and not handed out before in this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probe(0);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('found no fresh free port in 50 tries');
}

/** The first of `count` consecutive ports that were free on loopback a moment ago. */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await freePort();
    if (first + count - 1 > 65535) continue;
    let free = true;
    for (let port = first + 1; port < first + count && free; port++) {
      free = !handedOut.has(port) && (await probe(port)) === port;
    }
    if (free) {
      for (let port = first + 1; port < first + count; port++) handedOut.add(port);
      return first;
    }
  }
  throw new Error(`found no ${String(count)} consecutive free ports in 50 tries`);
}
