import cluster from 'node:cluster';
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { executorSocketPath, hopSocketPath } from '../envoy/sockets.ts';
import type { ControlPlaneTarget } from '../executor/transport/plan-subscription.ts';
import { startExecutor } from '../executor/transport/server.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { log } from '../runtime/log.ts';
import { caBundle, tlsMaterial, watchTlsFiles } from '../runtime/tls-material.ts';
import { untilSignal } from '../runtime/until-signal.ts';
import { superviseWorkers, workerIndex } from '../runtime/workers.ts';

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
  /** Serve Envoy over TLS with these files, read again when they change. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The control plane that delivers plans by reference; each worker takes them on a stream of its own. */
  readonly controlPlane?: ExecutorControlPlane;
}

export interface ExecutorControlPlane {
  readonly address: string;
  readonly port: number;
  readonly group: string;
  readonly tls?: {
    readonly ca: string;
    readonly cert?: string;
    readonly key?: string;
    readonly serverName: string;
  };
}

/** Where a worker takes its plans from; TLS files are read at each connection, so rotations apply. */
function controlPlaneTarget(controlPlane: ExecutorControlPlane, index: number): ControlPlaneTarget {
  const { address, port, group, tls } = controlPlane;
  return {
    address: `${address.includes(':') ? `[${address}]` : address}:${String(port)}`,
    group,
    nodeId: `executor-${hostname()}-${String(process.pid)}-${String(index)}`,
    ...(tls && {
      serverName: tls.serverName,
      tls: () => ({
        ca: caBundle(readFileSync(tls.ca)),
        ...(tls.cert !== undefined &&
          tls.key !== undefined &&
          tlsMaterial([readFileSync(tls.cert), readFileSync(tls.key)])),
      }),
    }),
  };
}

async function serveOne(options: ExecutorCommandOptions, index: number): Promise<void> {
  const { sockets } = options;
  const link =
    sockets === undefined
      ? undefined
      : { socket: executorSocketPath(sockets, index), hopSocket: hopSocketPath(sockets) };
  if (sockets !== undefined) mkdirSync(sockets, { recursive: true });
  // Every worker watches the files itself: each has its own server to give the rotated pair to.
  const tls =
    options.tls && (await watchTlsFiles("the executor's TLS certificate", options.tls, { log }));
  const executor = await startExecutor(envoyProtos(), {
    host: options.address,
    port: options.port + index,
    hopUrl: options.hopUrl,
    ...link,
    maxAnswerBytes: options.maxAnswerBytes,
    ...(tls && { tls: tls.value }),
    ...(options.controlPlane && { controlPlane: controlPlaneTarget(options.controlPlane, index) }),
    log,
  });
  tls?.onChange((material) => {
    executor.setTls(material);
  });
  const where = link?.socket ?? `${options.address}:${String(executor.port)}`;
  const plans = options.controlPlane
    ? `; plans by reference from ${options.controlPlane.address}:${String(options.controlPlane.port)} (group ${options.controlPlane.group})`
    : '; no control plane: plans only in route headers';
  log(
    `executor pid ${String(process.pid)} on ${where}${tls ? ' (TLS)' : ''}, calling nodes through ${link?.hopSocket ?? options.hopUrl}${plans}`,
  );
  await untilSignal();
  tls?.close();
  await executor.stop();
  // A cluster worker's channel to its primary keeps it alive: let go of it, or it never exits.
  if (cluster.isWorker) cluster.worker?.disconnect();
}

/** `switchyard executor`: serves until SIGINT/SIGTERM, on one process or several. */
export async function executorCommand(options: ExecutorCommandOptions): Promise<void> {
  if (options.workers > 1 && cluster.isPrimary) {
    // Files that cannot serve are refused here, once, not by workers that die and are replaced.
    if (options.tls) (await watchTlsFiles("the executor's TLS certificate", options.tls)).close();
    log(
      `executor: starting ${String(options.workers)} worker processes on ${options.sockets === undefined ? `ports ${String(options.port)}-${String(options.port + options.workers - 1)}` : `sockets in ${options.sockets}`}`,
    );
    await superviseWorkers(options.workers);
    return;
  }
  await serveOne(options, workerIndex());
}
