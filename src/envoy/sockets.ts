import { join } from 'node:path';

/**
 * Where Envoy and the executor meet when they share a directory (one host,
 * or one pod's shared volume): Unix sockets instead of loopback TCP. Each hop
 * then skips the TCP stack on both sides (measured in docs/performance.md).
 */
export function hopSocketPath(dir: string): string {
  return join(dir, 'hops.sock');
}

/** Worker `index`'s socket: Envoy has an endpoint per worker, as it has a port per worker on TCP. */
export function executorSocketPath(dir: string, index: number): string {
  return join(dir, `executor-${String(index)}.sock`);
}

/** Linux keeps a socket's path in 108 bytes, the terminating NUL among them. */
const LONGEST_SOCKET_PATH = 107;

/** Why `dir` cannot hold the sockets of `workers` executor workers, if it cannot. */
export function socketDirProblem(dir: string, workers: number): string | undefined {
  if (dir === '') return 'needs a directory';
  const longest = executorSocketPath(dir, workers - 1);
  return Buffer.byteLength(longest) > LONGEST_SOCKET_PATH
    ? `"${longest}" is longer than the ${String(LONGEST_SOCKET_PATH)} bytes a Unix socket's path may have: choose a shorter directory`
    : undefined;
}
