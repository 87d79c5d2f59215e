import { GraphCompiler } from '../envoy/compile.ts';
import type { ListenerOptions } from '../envoy/listener.ts';
import type { GraphModel } from '../graph/model.ts';
import { graphId } from '../plan/upstreams.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { GraphDirectory, type DirectorySnapshot } from '../sources/graph-directory.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import { SnapshotCache, DEFAULT_GROUP } from '../xds/cache.ts';
import { AdsServer, type AdsServerOptions } from '../xds/ads-server.ts';
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
  problems(): ReadonlyMap<string, readonly Diagnostic[]>;
  stop(): Promise<void>;
}

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
    if (changed) log(`serving ${String(compiled.accepted.length)} graph(s)`);
  };

  const directory = new GraphDirectory(options.graphsDir, apply);
  await directory.start();
  return {
    xdsPort,
    server,
    problems: () => problems,
    stop: async () => {
      directory.stop();
      await server.stop();
    },
  };
}
