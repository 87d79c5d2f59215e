import { GraphCompiler } from '../envoy/compile.ts';
import type { ListenerOptions } from '../envoy/listener.ts';
import type { GraphModel } from '../graph/model.ts';
import { graphId } from '../plan/upstreams.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { GraphDirectory, type DirectorySnapshot } from '../sources/graph-directory.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import { SnapshotCache, DEFAULT_GROUP } from '../xds/cache.ts';
import { AdsServer, type AdsServerOptions } from '../xds/ads-server.ts';
import type { StreamStatus } from '../xds/xds-stream.ts';
import { ROUTE } from '../envoy/type-urls.ts';
import { log } from './output.ts';

export interface ControlPlaneOptions {
  readonly graphsDir: string;
  /** ACK/NACK hooks, for tests and benchmarks that measure convergence. */
  readonly xdsEvents?: AdsServerOptions['events'];
  readonly xdsHost: string;
  readonly xdsPort: number;
  readonly listener: ListenerOptions;
}

export interface ControlPlane {
  readonly xdsPort: number;
  readonly server: AdsServer;
  /** Problems of the current inputs, per source file. */
  readonly problems: () => ReadonlyMap<string, readonly Diagnostic[]>;
  /** Every connected Envoy and every graph: what `switchyard status` shows. */
  readonly status: () => ControlPlaneStatus;
  readonly stop: () => Promise<void>;
}

export interface GraphStatus {
  readonly id: string;
  readonly source: string;
  /** On how many of the connected Envoys the graph's current version is ACKed. */
  readonly programmedOn: number;
  readonly envoys: number;
}

export interface ControlPlaneStatus {
  readonly envoys: readonly StreamStatus[];
  readonly graphs: readonly GraphStatus[];
  /** Rejected inputs, with what is wrong; their last good versions keep serving. */
  readonly problems: readonly {
    readonly source: string;
    readonly diagnostics: readonly string[];
  }[];
}

/** How many route-configuration versions to remember for telling what each Envoy runs. */
const historyLength = 64;

/**
 * The control plane of `switchyard serve`: graph files in, xDS out. A graph
 * whose new version fails any check keeps its last good version serving.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const root = envoyProtos();
  const cache = new SnapshotCache();
  const server = new AdsServer(cache, root, {
    log,
    ...(options.xdsEvents && { events: options.xdsEvents }),
  });
  const xdsPort = await server.start({ host: options.xdsHost, port: options.xdsPort });
  const compiler = new GraphCompiler(root, options.listener);
  const lastGood = new Map<string, GraphModel>();
  let problems = new Map<string, readonly Diagnostic[]>();
  let served: readonly GraphModel[] = [];
  // Route-configuration version → the graphs it carries: an Envoy that ACKed that
  // version runs exactly those graph versions.
  const history = new Map<string, ReadonlyMap<string, GraphModel>>();
  const reported = new Map<string, string>();

  const report = (current: Map<string, readonly Diagnostic[]>) => {
    for (const [source, diagnostics] of current) {
      const text = diagnostics.map(formatDiagnostic).join('\n');
      if (reported.get(source) === text) continue;
      reported.set(source, text);
      log(`rejected ${source}; the last good version keeps serving:\n${text}`);
    }
    for (const source of reported.keys()) {
      if (!current.has(source)) {
        reported.delete(source);
        log(`${source} is valid again`);
      }
    }
  };

  const apply = (snapshot: DirectorySnapshot) => {
    const first = compiler.compile(snapshot.graphs);
    const rejected = new Set(
      snapshot.graphs.map(graphId).filter((id) => !first.accepted.includes(id)),
    );
    const substituted = snapshot.graphs.flatMap((graph) => {
      const id = graphId(graph);
      const previous = lastGood.get(id);
      if (!rejected.has(id)) return [graph];
      return previous ? [previous] : [];
    });
    const compiled = rejected.size > 0 ? compiler.compile(substituted) : first;
    const accepted = new Set(compiled.accepted);
    for (const graph of snapshot.graphs) {
      const id = graphId(graph);
      if (accepted.has(id) && !rejected.has(id)) lastGood.set(id, graph);
    }
    for (const id of lastGood.keys()) {
      if (!snapshot.graphs.some((g) => graphId(g) === id)) lastGood.delete(id);
    }
    const current = new Map(snapshot.problems);
    for (const diagnostic of first.diagnostics) {
      current.set(diagnostic.source, [...(current.get(diagnostic.source) ?? []), diagnostic]);
    }
    problems = current;
    report(current);
    const changed = cache.setSnapshot(DEFAULT_GROUP, compiled.resources);
    served = substituted.filter((graph) => accepted.has(graphId(graph)));
    const routeVersion = cache.snapshotFor(DEFAULT_GROUP)?.get(ROUTE)?.version;
    if (routeVersion !== undefined) {
      history.delete(routeVersion);
      history.set(routeVersion, new Map(served.map((graph) => [graphId(graph), graph])));
      for (const old of history.keys()) if (history.size > historyLength) history.delete(old);
    }
    if (changed) log(`serving ${String(compiled.accepted.length)} graph(s)`);
  };

  const status = (): ControlPlaneStatus => {
    const envoys = server.status();
    const running = envoys.map((envoy) => history.get(envoy.types[ROUTE]?.ackedVersion ?? ''));
    return {
      envoys,
      graphs: served.map((graph) => {
        const id = graphId(graph);
        return {
          id,
          source: graph.source,
          programmedOn: running.filter((graphs) => graphs?.get(id) === graph).length,
          envoys: envoys.length,
        };
      }),
      problems: [...problems].map(([source, diagnostics]) => ({
        source,
        diagnostics: diagnostics.map(formatDiagnostic),
      })),
    };
  };

  const directory = new GraphDirectory(options.graphsDir, apply);
  await directory.start();
  return {
    xdsPort,
    server,
    problems: () => problems,
    status,
    stop: async () => {
      directory.stop();
      await server.stop();
    },
  };
}
