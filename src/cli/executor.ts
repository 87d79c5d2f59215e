import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { startExecutor } from '../extproc/server.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { log } from './output.ts';

export interface ExecutorCommandOptions {
  readonly address: string;
  readonly port: number;
  readonly hopUrl: string;
  /** Processes serving the port; the executor is stateless, so any may take any stream. */
  readonly workers: number;
}

export function defaultWorkers(): number {
  return availableParallelism();
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function serveOne(options: ExecutorCommandOptions): Promise<void> {
  const executor = await startExecutor(envoyProtos(), {
    host: options.address,
    port: options.port,
    hopUrl: options.hopUrl,
    log,
  });
  log(
    `executor pid ${String(process.pid)} on ${options.address}:${String(executor.port)}, calling nodes through ${options.hopUrl}`,
  );
  await untilSignal();
  await executor.stop();
  // A cluster worker's channel to its primary keeps it alive: let go of it, or it never exits.
  if (cluster.isWorker) cluster.worker?.disconnect();
}

/** The primary keeps `workers` processes running until it is told to stop. */
async function superviseWorkers(workers: number): Promise<void> {
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log(
      `executor worker ${String(worker.process.pid)} exited (code ${String(code)}, signal ${signal}); starting another`,
    );
    cluster.fork();
  });
  for (let i = 0; i < workers; i++) cluster.fork();
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
    log(`executor: starting ${String(options.workers)} worker processes`);
    await superviseWorkers(options.workers);
    return;
  }
  await serveOne(options);
}
