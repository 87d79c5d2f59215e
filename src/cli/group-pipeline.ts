import { GraphCompiler } from '../envoy/compile.ts';
import type { ListenerOptions } from '../envoy/listener.ts';
import type { GraphModel } from '../graph/model.ts';
import { graphId } from '../plan/upstreams.ts';
import type protobuf from 'protobufjs';
import { GraphDirectory, type DirectorySnapshot } from '../sources/graph-directory.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import type { SnapshotCache } from '../xds/cache.ts';
import { log } from './output.ts';

/** How many route-configuration versions to remember for telling what each Envoy runs. */
const historyLength = 64;

/**
 * One node group's pipeline: its graph directory in, its snapshot out. A
 * graph whose new version fails any check keeps its last good version.
 */
export class GroupPipeline {
  readonly group: string;
  readonly #cache: SnapshotCache;
  readonly #compiler: GraphCompiler;
  readonly #directory: GraphDirectory;
  readonly #lastGood = new Map<string, GraphModel>();
  readonly #reported = new Map<string, string>();
  #problems = new Map<string, readonly Diagnostic[]>();
  #served: readonly GraphModel[] = [];
  /**
   * Recent snapshots: their version per resource type, and the graphs they
   * carry. An Envoy that ACKed every one of a snapshot's versions runs those graphs.
   */
  readonly #history: {
    versions: ReadonlyMap<string, string>;
    graphs: ReadonlyMap<string, GraphModel>;
  }[] = [];

  constructor(
    group: string,
    dir: string,
    cache: SnapshotCache,
    root: protobuf.Root,
    listener: ListenerOptions,
  ) {
    this.group = group;
    this.#cache = cache;
    this.#compiler = new GraphCompiler(root, listener);
    this.#directory = new GraphDirectory(dir, (snapshot) => {
      this.#apply(snapshot);
    });
  }

  start(): Promise<void> {
    return this.#directory.start();
  }

  stop(): void {
    this.#directory.stop();
  }

  problems(): ReadonlyMap<string, readonly Diagnostic[]> {
    return this.#problems;
  }

  served(): readonly GraphModel[] {
    return this.#served;
  }

  /** The graphs an Envoy runs, known from the versions it ACKed. */
  running(
    acked: (typeUrl: string) => string | undefined,
  ): ReadonlyMap<string, GraphModel> | undefined {
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const entry = this.#history[i];
      if (entry && [...entry.versions].every(([typeUrl, version]) => acked(typeUrl) === version)) {
        return entry.graphs;
      }
    }
    return undefined;
  }

  #apply(snapshot: DirectorySnapshot): void {
    const first = this.#compiler.compile(snapshot.graphs);
    const ids = new Set(snapshot.graphs.map(graphId));
    const firstAccepted = new Set(first.accepted);
    const rejected = new Set([...ids].filter((id) => !firstAccepted.has(id)));
    const substituted = snapshot.graphs.flatMap((graph) => {
      const id = graphId(graph);
      const previous = this.#lastGood.get(id);
      if (!rejected.has(id)) return [graph];
      return previous ? [previous] : [];
    });
    const compiled = rejected.size > 0 ? this.#compiler.compile(substituted) : first;
    const accepted = new Set(compiled.accepted);
    for (const graph of snapshot.graphs) {
      const id = graphId(graph);
      if (accepted.has(id) && !rejected.has(id)) this.#lastGood.set(id, graph);
    }
    for (const id of this.#lastGood.keys()) {
      if (!ids.has(id)) this.#lastGood.delete(id);
    }
    const problems = new Map(snapshot.problems);
    for (const diagnostic of first.diagnostics) {
      problems.set(diagnostic.source, [...(problems.get(diagnostic.source) ?? []), diagnostic]);
    }
    this.#problems = problems;
    this.#report(problems);
    const changed = this.#cache.setSnapshot(this.group, compiled.resources);
    this.#served = substituted.filter((graph) => accepted.has(graphId(graph)));
    const versions = new Map<string, string>();
    for (const [typeUrl, type] of this.#cache.snapshotFor(this.group) ?? []) {
      if (type.resources.size > 0) versions.set(typeUrl, type.version);
    }
    const graphs = new Map(this.#served.map((graph) => [graphId(graph), graph]));
    this.#history.push({ versions, graphs });
    if (this.#history.length > historyLength) this.#history.shift();
    if (changed) log(`group ${this.group}: serving ${String(compiled.accepted.length)} graph(s)`);
  }

  /** Logs each problem once, and when it is gone. */
  #report(current: ReadonlyMap<string, readonly Diagnostic[]>): void {
    for (const [source, diagnostics] of current) {
      const text = diagnostics.map(formatDiagnostic).join('\n');
      if (this.#reported.get(source) === text) continue;
      this.#reported.set(source, text);
      log(`rejected ${source}; the last good version keeps serving:\n${text}`);
    }
    for (const source of this.#reported.keys()) {
      if (!current.has(source)) {
        this.#reported.delete(source);
        log(`${source} is valid again`);
      }
    }
  }
}
