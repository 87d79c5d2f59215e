import { clusterCounterOf } from '../envoy/cluster-stats.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import type { GraphModel } from '../graph/model.ts';
import { ROUTE } from '../envoy/type-urls.ts';
import { graphId } from '../plan/upstreams.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { encodeAny } from '../protos/proto-json.ts';
import { log } from '../runtime/log.ts';
import { watchCaBundle, watchTlsFiles, type TlsFiles } from '../runtime/tls-material.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import { AdsServer, type AdsServerOptions } from '../xds/ads-server.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../xds/cache.ts';
import { metricsService } from '../xds/metrics-service.ts';
import { GroupPipeline } from './group-pipeline.ts';
import type { ControlPlaneStatus } from './status.ts';
import { TrafficWindow } from './traffic-window.ts';

export interface ControlPlaneOptions {
  /** The graphs every Envoy gets, unless its node group has a directory of its own. */
  readonly graphsDir: string;
  /** Node group (an Envoy's node.cluster) → the directory of that group's graphs. */
  readonly groups?: ReadonlyMap<string, string>;
  /** ACK/NACK hooks, for tests and benchmarks that measure convergence. */
  readonly xdsEvents?: AdsServerOptions['events'];
  /** Where the xDS server's lines go (connections, refusals); the log by default. */
  readonly log?: (line: string) => void;
  readonly xdsHost: string;
  readonly xdsPort: number;
  /**
   * Serve xDS over TLS with these files, read again when they change; with a
   * client CA, TLS is mutual and an Envoy's certificate names its group.
   */
  readonly xdsTls?: TlsFiles;
  readonly listener: ListenerOptions;
  /**
   * Envoy reaches the executor over TLS: the executor's certificate must come
   * from the CA bundle in `caFile` (sent to Envoy, again when the file
   * changes) and carry `serverName`.
   */
  readonly executorTls?: { readonly caFile: string; readonly serverName: string };
}

export interface ControlPlane {
  readonly xdsPort: number;
  readonly server: AdsServer;
  /** Problems of the current inputs, per source unit (file). */
  readonly problems: () => ReadonlyMap<string, readonly Diagnostic[]>;
  /** Every connected Envoy and every graph: what `switchyard status` shows. */
  readonly status: () => ControlPlaneStatus;
  /** The graphs each node group serves now (its last good versions). */
  readonly served: () => readonly { group: string; graphs: readonly GraphModel[] }[];
  /** Calls to each cluster over the last minute, as the Envoys' stat sinks report them. */
  readonly traffic: TrafficWindow;
  readonly stop: () => Promise<void>;
}

/** The control plane of `switchyard serve`: graph directories in, xDS out. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const root = envoyProtos();
  const say = options.log ?? log;
  const watched: { close(): void }[] = [];
  const xdsTls =
    options.xdsTls && (await watchTlsFiles("the xDS server's TLS", options.xdsTls, { log: say }));
  if (xdsTls) watched.push(xdsTls);
  const executorTls = options.executorTls;
  const executorCa =
    executorTls && (await watchCaBundle('the executor CA', executorTls.caFile, { log: say }));
  if (executorCa) watched.push(executorCa);
  const listenerWith = (ca: Buffer | undefined): ListenerOptions =>
    ca && executorTls
      ? {
          ...options.listener,
          executor: {
            ...options.listener.executor,
            tls: { ca: ca.toString('utf8'), serverName: executorTls.serverName },
          },
        }
      : options.listener;
  // Versions hash what Envoy receives; the encoding is kept for every stream that sends it.
  const cache = new SnapshotCache((resource) => encodeAny(root, resource).value);
  const traffic = new TrafficWindow();
  const server = new AdsServer(cache, root, {
    log: say,
    services: [
      metricsService(root, (_envoy, increments) => {
        for (const [name, increment] of increments) {
          const counter = clusterCounterOf(name);
          if (counter) traffic.record(counter.cluster, counter.counter, increment);
        }
      }),
    ],
    ...(options.xdsEvents && { events: options.xdsEvents }),
    ...(xdsTls && { tls: xdsTls }),
  });
  const xdsPort = await server.start({ host: options.xdsHost, port: options.xdsPort });
  const directories = new Map([[DEFAULT_GROUP, options.graphsDir], ...(options.groups ?? [])]);
  const pipelines = [...directories].map(
    ([group, dir]) => new GroupPipeline(group, dir, cache, root, listenerWith(executorCa?.value)),
  );
  for (const pipeline of pipelines) await pipeline.start();
  // A rotated CA bundle reaches Envoy as a new executor cluster; the graphs stay as they are.
  executorCa?.onChange((ca) => {
    const listener = listenerWith(ca);
    for (const pipeline of pipelines) pipeline.useListener(listener);
  });
  const pipelineOf = (group: string) =>
    pipelines.find((p) => p.group === group) ?? pipelines.find((p) => p.group === DEFAULT_GROUP);

  const problems = () => new Map(pipelines.flatMap((p) => [...p.problems()]));

  const status = (): ControlPlaneStatus => {
    const envoys = server.envoys();
    return {
      envoys: envoys.map((e) => e.status),
      graphs: pipelines.flatMap((pipeline) => {
        const members = envoys.filter((e) => pipelineOf(e.status.nodeCluster) === pipeline);
        const version = cache.snapshotFor(pipeline.group)?.get(ROUTE)?.version ?? '';
        return pipeline.served().map((graph) => {
          const id = graphId(graph);
          return {
            id,
            group: pipeline.group,
            source: graph.source,
            version,
            programmedOn: members.filter((e) => e.graphs.programs(id)).length,
            programmedBy: members.filter((e) => e.graphs.programs(id)).map((e) => e.status.nodeId),
            envoys: members.length,
            executors: pipeline.executors(graph),
            problems: members.flatMap((e) =>
              e.graphs.problems(id).map((problem) => ({ envoy: e.status.nodeId, ...problem })),
            ),
          };
        });
      }),
      problems: [...problems()].map(([source, diagnostics]) => ({
        source,
        diagnostics: diagnostics.map(formatDiagnostic),
      })),
    };
  };

  return {
    xdsPort,
    server,
    problems,
    status,
    served: () =>
      pipelines.map((pipeline) => ({ group: pipeline.group, graphs: pipeline.served() })),
    traffic,
    stop: async () => {
      for (const files of watched) files.close();
      for (const pipeline of pipelines) pipeline.stop();
      await server.stop();
    },
  };
}
