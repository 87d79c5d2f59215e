import cluster from 'node:cluster';
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import { executorSocketPath, hopSocketPath } from '../envoy/sockets.ts';
import type { ControlPlaneTarget } from '../executor/transport/plan-subscription.ts';
import { startExecutor } from '../executor/transport/server.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { caBundle, tlsMaterial, watchTlsFiles } from '../runtime/tls-material.ts';
import { ExecutorMetrics } from '../executor/transport/executor-metrics.ts';
import { PayloadLog } from '../executor/transport/payload-log.ts';
import { RequestLog } from '../executor/transport/request-log.ts';
import { RequestTracing } from '../executor/transport/request-tracing.ts';
import { log, logger } from '../runtime/log.ts';
import { processMetrics, withProcessMetrics } from '../runtime/process-metrics.ts';
import { startTracing } from '../runtime/tracing.ts';
import { startMetricsServer } from '../executor/transport/metrics-server.ts';
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
  /** Where GET /metrics serves every worker's metrics, summed; none: no metrics are kept. */
  readonly metrics?: { readonly host: string; readonly port: number };
  /** An OTLP/HTTP receiver every worker sends its spans to; none: no tracing. */
  readonly otlpEndpoint?: string;
}

/**
 * A worker's metrics: kept in the worker, sent to the primary when it
 * scrapes (prom-client's cluster aggregation), or served by the one process.
 */
async function workerMetrics(options: ExecutorCommandOptions) {
  if (!options.metrics)
    return { telemetry: [], stop: () => Promise.resolve(), registry: undefined };
  const metrics = new ExecutorMetrics();
  if (cluster.isWorker) {
    // Constructing one listens for the primary's requests; the worker answers with its own registry.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry, processMetrics()]);
    return { telemetry: [metrics], stop: () => Promise.resolve(), registry: metrics.registry };
  }
  const registry = withProcessMetrics(metrics.registry);
  const server = await startMetricsServer(
    { contentType: registry.contentType, text: () => registry.metrics() },
    options.metrics,
    log,
  );
  log(`executor metrics on http://${options.metrics.host}:${String(server.port)}/metrics`);
  return { telemetry: [metrics], stop: server.stop, registry: metrics.registry };
}

/** The primary's GET /metrics: its workers' metrics, summed per series. */
async function primaryMetrics(options: ExecutorCommandOptions) {
  if (!options.metrics) return undefined;
  const aggregator = new AggregatorRegistry();
  const server = await startMetricsServer(
    { contentType: aggregator.contentType, text: () => aggregator.clusterMetrics() },
    options.metrics,
    log,
  );
  log(`executor metrics on http://${options.metrics.host}:${String(server.port)}/metrics`);
  return server;
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
  const metrics = await workerMetrics(options);
  const tracing =
    options.otlpEndpoint === undefined
      ? undefined
      : startTracing(options.otlpEndpoint, 'switchyard-executor');
  // Always there: which graphs log payloads is for their plans to say.
  const payloadLog = new PayloadLog({
    ...(metrics.registry && { registry: metrics.registry }),
    log: (message) => {
      logger.warn(message);
    },
  });
  const executor = await startExecutor(envoyProtos(), {
    host: options.address,
    port: options.port + index,
    hopUrl: options.hopUrl,
    ...link,
    maxAnswerBytes: options.maxAnswerBytes,
    ...(tls && { tls: tls.value }),
    ...(options.controlPlane && { controlPlane: controlPlaneTarget(options.controlPlane, index) }),
    // What the executor says while serving is about requests that went wrong.
    log: (message) => {
      logger.warn(message);
    },
    telemetry: [
      new RequestLog(logger),
      ...metrics.telemetry,
      ...(tracing ? [new RequestTracing(tracing.tracer)] : []),
      payloadLog,
    ],
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
  await payloadLog.close();
  await metrics.stop();
  await tracing?.shutdown();
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
    const metrics = await primaryMetrics(options);
    await superviseWorkers(options.workers);
    await metrics?.stop();
    return;
  }
  await serveOne(options, workerIndex());
}
