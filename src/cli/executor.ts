import cluster from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { executorSocketPath, hopSocketPath } from '../envoy/sockets.ts';
import { startExecutor } from '../executor/transport/server.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { cgroupCpuQuota } from '../runtime/cpu-quota.ts';
import { log } from '../runtime/log.ts';

export interface ExecutorCommandOptions {
  readonly address: string;
  readonly port: number;
  readonly hopUrl: string;
  /**
   * Processes, each on its own port from `port` on. Envoy balances every
   * request over them: with one shared port it would balance connections,
   * and an Envoy with fewer threads than workers would leave some idle.
   */
  readonly workers: number;
  /** The most of one node's answer a worker holds in memory. */
  readonly maxAnswerBytes: number;
  /** A directory shared with Envoy: Unix sockets in it replace `port` and `hopUrl`. */
  readonly sockets?: string;
}

/** The environment variable that tells a worker process which of the ports is its own. */
const WORKER_INDEX = 'SWITCHYARD_EXECUTOR_WORKER';

/** One worker per core the process may use: the machine's, or fewer by its container's CPU limit. */
export function defaultWorkers(): number {
  const cores = availableParallelism();
  const quota = cgroupCpuQuota();
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.floor(quota)));
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function serveOne(options: ExecutorCommandOptions, index: number): Promise<void> {
  const { sockets } = options;
  const link =
    sockets === undefined
      ? undefined
      : { socket: executorSocketPath(sockets, index), hopSocket: hopSocketPath(sockets) };
  if (sockets !== undefined) mkdirSync(sockets, { recursive: true });
  const executor = await startExecutor(envoyProtos(), {
    host: options.address,
    port: options.port + index,
    hopUrl: options.hopUrl,
    ...link,
    maxAnswerBytes: options.maxAnswerBytes,
    log,
  });
  const where = link?.socket ?? `${options.address}:${String(executor.port)}`;
  log(
    `executor pid ${String(process.pid)} on ${where}, calling nodes through ${link?.hopSocket ?? options.hopUrl}`,
  );
  await untilSignal();
  await executor.stop();
  // A cluster worker's channel to its primary keeps it alive: let go of it, or it never exits.
  if (cluster.isWorker) cluster.worker?.disconnect();
}

/**
 * The primary keeps `workers` processes running until it is told to stop; a
 * worker that dies is replaced on the same port, and meanwhile Envoy retries
 * the requests it could not connect to on another.
 */
async function superviseWorkers(workers: number): Promise<void> {
  let stopping = false;
  const indexOf = new Map<number, number>();
  const fork = (index: number) => {
    indexOf.set(cluster.fork({ [WORKER_INDEX]: String(index) }).id, index);
  };
  cluster.on('exit', (worker, code, signal) => {
    const index = indexOf.get(worker.id);
    indexOf.delete(worker.id);
    if (stopping || index === undefined) return;
    log(
      `executor worker ${String(worker.process.pid)} exited (code ${String(code)}, signal ${signal}); starting another`,
    );
    fork(index);
  });
  for (let i = 0; i < workers; i++) fork(i);
  await untilSignal();
  stopping = true;
  const workersLeft = Object.values(cluster.workers ?? {});
  await Promise.all(
    workersLeft.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (!worker) {
            resolve();
            return;
          }
          worker.once('exit', () => {
            resolve();
          });
          worker.kill('SIGTERM');
        }),
    ),
  );
}

/** `switchyard executor`: serves until SIGINT/SIGTERM, on one process or several. */
export async function executorCommand(options: ExecutorCommandOptions): Promise<void> {
  if (options.workers > 1 && cluster.isPrimary) {
    log(
      `executor: starting ${String(options.workers)} worker processes on ${options.sockets === undefined ? `ports ${String(options.port)}-${String(options.port + options.workers - 1)}` : `sockets in ${options.sockets}`}`,
    );
    await superviseWorkers(options.workers);
    return;
  }
  await serveOne(options, Number(process.env[WORKER_INDEX] ?? '0'));
}
