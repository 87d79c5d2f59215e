import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { cgroupCpuQuota } from './cpu-quota.ts';
import { log } from './log.ts';
import { untilSignal } from './until-signal.ts';

/** The environment variable that tells a worker process which of the workers it is. */
const WORKER_INDEX = 'SWITCHYARD_EXECUTOR_WORKER';

/** One worker per core the process may use: the machine's, or fewer by its container's CPU limit. */
export function defaultWorkers(): number {
  const cores = availableParallelism();
  const quota = cgroupCpuQuota();
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.floor(quota)));
}

/** Which worker this process is: 0 in a process that forked none. */
export function workerIndex(): number {
  return Number(process.env[WORKER_INDEX] ?? '0');
}

/**
 * The primary keeps `workers` processes of this program running until it is
 * told to stop; a worker that dies is replaced by one with its index, so it
 * takes over its port or socket.
 */
export async function superviseWorkers(workers: number): Promise<void> {
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
