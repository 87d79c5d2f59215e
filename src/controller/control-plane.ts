import { clusterCounterOf } from '../envoy/cluster-stats.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import { ENDPOINT, ROUTE } from '../envoy/type-urls.ts';
import type { GraphModel } from '../graph/model.ts';
import { graphId } from '../plan/upstreams.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { encodeAny } from '../protos/proto-json.ts';
import { log as defaultLog, logger, type LogFields } from '../runtime/log.ts';
import { watchCaBundle, watchTlsFiles, type TlsFiles } from '../runtime/tls-material.ts';
import { GraphDirectory } from '../sources/graph-directory.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import { AdsServer, type AdsServerOptions } from '../xds/ads-server.ts';
import { DEFAULT_GROUP, SnapshotCache, versionOf } from '../xds/cache.ts';
import { graphResources } from '../xds/graph-resources.ts';
import { metricsService } from '../xds/metrics-service.ts';
import type { GraphReport, StreamStatus } from '../xds/xds-stream.ts';
import type { StreamEvents } from '../xds/xds-stream.ts';
import { ControlPlaneMetrics, type GraphCounts } from './control-plane-metrics.ts';
import { GroupPipeline } from './group-pipeline.ts';
import type { KubernetesController, KubernetesOptions } from './kubernetes-controller.ts';
import type { ControlPlaneStatus, GraphStatus } from './status.ts';
import { TrafficWindow } from './traffic-window.ts';

export interface ControlPlaneOptions {
  /** The graphs every Envoy gets, unless its node group has graphs of its own. */
  readonly graphsDir?: string;
  /** Node group (an Envoy's node.cluster) → the directory of that group's graphs. */
  readonly groups?: ReadonlyMap<string, string>;
  /** InferenceGraph resources, and Services for nodes, from a Kubernetes API server. */
  readonly kubernetes?: KubernetesOptions;
  /** ACK/NACK hooks, for tests and benchmarks that measure convergence. */
  readonly xdsEvents?: AdsServerOptions['events'];
  /** Where the xDS server's lines go (connections, refusals), with their `envoy` and `group` fields; the log by default. */
  readonly log?: (line: string, fields?: LogFields) => void;
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
  /** What GET /metrics serves. */
  readonly metrics: ControlPlaneMetrics;
  /** Problems of the current inputs, per source unit (file, or resource). */
  readonly problems: () => ReadonlyMap<string, readonly Diagnostic[]>;
  /** Every connected Envoy and every graph: what `switchyard status` shows. */
  readonly status: () => ControlPlaneStatus;
  /** The graphs each node group serves now (its last good versions). */
  readonly served: () => readonly { group: string; graphs: readonly GraphModel[] }[];
  /** Calls to each cluster over the last minute, as the Envoys' stat sinks report them. */
  readonly traffic: TrafficWindow;
  /** Whether every source has been read once and served: what /readyz answers. */
  readonly ready: () => boolean;
  /** The Kubernetes side, when there is one. */
  readonly kubernetes: KubernetesController | undefined;
  readonly stop: () => Promise<void>;
}

/** Every event to both listeners: the metrics, and a test's or benchmark's hooks. */
function bothEvents(
  first: Partial<StreamEvents>,
  second: Partial<StreamEvents>,
): Partial<StreamEvents> {
  return {
    failed: (...args) => {
      first.failed?.(...args);
      second.failed?.(...args);
    },
    sent: (...args) => {
      first.sent?.(...args);
      second.sent?.(...args);
    },
    ack: (...args) => {
      first.ack?.(...args);
      second.ack?.(...args);
    },
    nack: (...args) => {
      first.nack?.(...args);
      second.nack?.(...args);
    },
  };
}

interface Envoy {
  readonly status: StreamStatus;
  readonly graphs: GraphReport;
}

/**
 * The control plane of `switchyard serve`: graph directories and
 * InferenceGraph resources in, xDS out. A node group's pipeline is made
 * when a directory or a resource first names the group.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const root = envoyProtos();
  const log = options.log ?? defaultLog;
  const watched: { close(): void }[] = [];
  const xdsTls =
    options.xdsTls && (await watchTlsFiles("the xDS server's TLS", options.xdsTls, { log }));
  if (xdsTls) watched.push(xdsTls);
  const executorTls = options.executorTls;
  const executorCa =
    executorTls && (await watchCaBundle('the executor CA', executorTls.caFile, { log }));
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
  let listener = listenerWith(executorCa?.value);
  // Versions hash what Envoy receives; the encoding is kept for every stream that sends it.
  const cache = new SnapshotCache((resource) => encodeAny(root, resource).value);
  const pipelines = new Map<string, GroupPipeline>();
  let kubernetes: KubernetesController | undefined;
  const pipelineOf = (group: string) =>
    pipelines.get(group) ?? pipelines.get(DEFAULT_GROUP) ?? pipelineFor(DEFAULT_GROUP);
  const traffic = new TrafficWindow();
  // The metrics read the pipelines and the server when scraped, both made below.
  let graphCounts: () => readonly GraphCounts[] = () => [];
  let groupOf = (nodeCluster: string) => nodeCluster;
  const metrics = new ControlPlaneMetrics(
    () => graphCounts(),
    (nodeCluster) => groupOf(nodeCluster),
  );
  const server = new AdsServer(cache, root, {
    log,
    services: [
      metricsService(root, (_envoy, increments) => {
        for (const [name, increment] of increments) {
          const counter = clusterCounterOf(name);
          if (counter) traffic.record(counter.cluster, counter.counter, increment);
        }
      }),
    ],
    events: bothEvents(metrics.events, {
      ...options.xdsEvents,
      ack: (stream, typeUrl, version) => {
        logger.debug(
          { envoy: stream.nodeId, group: stream.nodeCluster, typeUrl, version },
          `Envoy ${stream.nodeId} accepted ${typeUrl} version ${version}`,
        );
        options.xdsEvents?.ack?.(stream, typeUrl, version);
        kubernetes?.envoysChanged(stream.nodeCluster);
        if (typeUrl === ROUTE && stream.client === 'envoy') releasePlans(stream.nodeCluster);
      },
      nack: (stream, typeUrl, version, message, rejected) => {
        options.xdsEvents?.nack?.(stream, typeUrl, version, message, rejected);
        kubernetes?.envoysChanged(stream.nodeCluster);
      },
    }),
    streamError: () => {
      metrics.streamError();
    },
    connections: (stream, connected) => {
      kubernetes?.envoysChanged(stream.nodeCluster);
      // An Envoy that left runs nothing of ours the others do not: it may release old plans.
      if (!connected && stream.client === 'envoy') releasePlans(stream.nodeCluster);
    },
    ...(xdsTls && { tls: xdsTls }),
  });
  // A rotated CA bundle reaches Envoy as a new executor cluster; the graphs stay as they are.
  executorCa?.onChange((ca) => {
    listener = listenerWith(ca);
    for (const pipeline of pipelines.values()) pipeline.useListener(listener);
  });

  /**
   * Plans kept for routes Envoys may still run go once every Envoy of the
   * group runs every served graph as it is now (so no route an Envoy has
   * names an older plan).
   */
  function releasePlans(group: string): void {
    const pipeline = pipelineOf(group);
    if (!pipeline.retainsPlans) return;
    const members = server.envoys().filter((e) => pipelineOf(e.status.nodeCluster) === pipeline);
    const ids = pipeline.served().map(graphId);
    if (members.every((envoy) => ids.every((id) => envoy.graphs.programs(id)))) {
      pipeline.envoysRunCurrentRoutes();
    }
  }

  function pipelineFor(group: string): GroupPipeline {
    let pipeline = pipelines.get(group);
    if (!pipeline) {
      pipeline = new GroupPipeline(group, cache, root, listener, {
        ...(kubernetes && { endpointsFor: kubernetes.endpointsFor }),
        compiled: (seconds) => {
          metrics.compiled(group, seconds);
        },
      });
      pipelines.set(group, pipeline);
    }
    return pipeline;
  }

  /** What the Envoys connected now run of each graph, in its group. */
  const statuses = (envoys: readonly Envoy[] = server.envoys()) => {
    const members = new Map<GroupPipeline, Envoy[]>();
    for (const envoy of envoys) {
      const pipeline = pipelineOf(envoy.status.nodeCluster);
      const list = members.get(pipeline);
      if (list) list.push(envoy);
      else members.set(pipeline, [envoy]);
    }
    return (group: string, graph: GraphModel): GraphStatus | undefined => {
      const pipeline = pipelines.get(group);
      if (!pipeline) return undefined;
      const snapshot = cache.snapshotFor(group);
      const id = graphId(graph);
      const carried =
        (snapshot && graphResources(snapshot, (typeUrl, r) => cache.factsOf(typeUrl, r)).get(id)) ??
        [];
      const inGroup = members.get(pipeline) ?? [];
      return {
        id,
        group: pipeline.group,
        source: graph.source,
        version: versionOf(carried.filter((r) => r.typeUrl !== ENDPOINT).map((r) => r.resource)),
        programmedOn: inGroup.filter((e) => e.graphs.programs(id)).length,
        programmedBy: inGroup.filter((e) => e.graphs.programs(id)).map((e) => e.status.nodeId),
        envoys: inGroup.length,
        executors: pipeline.executors(graph),
        problems: inGroup.flatMap((e) =>
          e.graphs.problems(id).map((problem) => ({ envoy: e.status.nodeId, ...problem })),
        ),
      };
    };
  };

  if (options.kubernetes) {
    // Loaded only when asked for: the Kubernetes client is slow to load, and files need none of it.
    const { KubernetesController } = await import('./kubernetes-controller.ts');
    kubernetes = new KubernetesController(options.kubernetes, {
      pipelineFor,
      pipelines: () => pipelines.values(),
      statuses: () => statuses(),
      log,
    });
  }
  const xdsPort = await server.start({ host: options.xdsHost, port: options.xdsPort });
  pipelineFor(DEFAULT_GROUP);
  const directories = [
    ...(options.graphsDir === undefined ? [] : [[DEFAULT_GROUP, options.graphsDir] as const]),
    ...(options.groups ?? []),
  ].map(
    ([group, dir]) =>
      new GraphDirectory(dir, (updates) => {
        pipelineFor(group).apply(updates);
      }),
  );
  for (const directory of directories) await directory.start();
  kubernetes?.start();

  const problems = () => new Map([...pipelines.values()].flatMap((p) => [...p.problems()]));

  const status = (): ControlPlaneStatus => {
    const envoys = server.envoys();
    const statusOf = statuses(envoys);
    return {
      envoys: envoys.map((e) => e.status),
      graphs: [...pipelines.values()].flatMap((pipeline) =>
        pipeline.served().flatMap((graph) => statusOf(pipeline.group, graph) ?? []),
      ),
      problems: [...problems()].map(([source, diagnostics]) => ({
        source,
        diagnostics: diagnostics.map(formatDiagnostic),
      })),
    };
  };

  groupOf = (nodeCluster) => pipelineOf(nodeCluster).group;
  graphCounts = () => {
    const current = status();
    return [...pipelines.values()].map((pipeline) => {
      const graphs = current.graphs.filter((g) => g.group === pipeline.group);
      return {
        group: pipeline.group,
        accepted: graphs.length,
        rejected: pipeline.problems().size,
        programmed: graphs.filter((g) => g.envoys > 0 && g.programmedOn === g.envoys).length,
        envoys: current.envoys.filter((e) => pipelineOf(e.nodeCluster) === pipeline).length,
      };
    });
  };

  return {
    xdsPort,
    server,
    metrics,
    problems,
    status,
    served: () =>
      [...pipelines.values()].map((pipeline) => ({
        group: pipeline.group,
        graphs: pipeline.served(),
      })),
    traffic,
    ready: () => kubernetes?.ready ?? true,
    kubernetes,
    stop: async () => {
      for (const files of watched) files.close();
      for (const directory of directories) directory.stop();
      await kubernetes?.stop();
      await server.stop();
    },
  };
}
