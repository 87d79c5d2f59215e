import { GraphCompiler } from './compile.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import type { GraphModel } from '../graph/model.ts';
import type { ExecutorRoutePlan } from '../plan/types.ts';
import { graphId } from '../plan/upstreams.ts';
import type protobuf from 'protobufjs';
import { GraphDirectory, type DirectorySnapshot } from '../sources/graph-directory.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import type { SnapshotCache } from '../xds/cache.ts';
import { log } from '../runtime/log.ts';

/** Where the executor takes over a graph, and how Envoy brings it requests. */
export type ExecutorEntry = Pick<ExecutorRoutePlan, 'entry' | 'transport'>;

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
  readonly #reported = new Map<string, string>();
  #problems = new Map<string, readonly Diagnostic[]>();
  #served: readonly GraphModel[] = [];
  /**
   * Recent snapshots: their version per resource type, and the graphs they
   * carry. An Envoy that ACKed every one of a snapshot's versions runs those graphs.
   */
  readonly #history: {
    versions: ReadonlyMap<string, string>;
    graphs: readonly GraphModel[];
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

  /** Where the executor runs `graph` from, and how Envoy reaches it; none when Envoy runs it alone. */
  executors(graph: GraphModel): readonly ExecutorEntry[] {
    return (
      this.#compiler
        .plannedOf(graph)
        ?.graph.executors.map(({ entry, transport }) => ({ entry, transport })) ?? []
    );
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
        return new Map(entry.graphs.map((graph) => [graphId(graph), graph]));
      }
    }
    return undefined;
  }

  /**
   * Compiles the directory's graphs. A graph rejected here keeps its last
   * good version, which is the one served so far; on the common path, with
   * nothing rejected, this costs what changed, not how many graphs there are.
   */
  #apply(snapshot: DirectorySnapshot): void {
    const first = this.#compiler.compile(snapshot.graphs);
    let compiled = first;
    let served = snapshot.graphs;
    if (first.rejected.size > 0) {
      const lastGood = new Map(this.#served.map((graph) => [graphId(graph), graph]));
      served = snapshot.graphs.flatMap((graph) => {
        const id = graphId(graph);
        if (!first.rejected.has(id)) return [graph];
        const previous = lastGood.get(id);
        return previous ? [previous] : [];
      });
      compiled = this.#compiler.compile(served);
      const rejectedAgain = compiled.rejected;
      if (rejectedAgain.size > 0) served = served.filter((g) => !rejectedAgain.has(graphId(g)));
    }
    const problems = new Map(snapshot.problems);
    for (const diagnostic of first.diagnostics) {
      problems.set(diagnostic.source, [...(problems.get(diagnostic.source) ?? []), diagnostic]);
    }
    this.#problems = problems;
    this.#report(problems);
    // The changes are relative to the last compile, which is what the cache has only when it
    // was the first: the cache checks that, and looks at everything otherwise.
    const changed = this.#cache.setSnapshot(this.group, compiled.resources, compiled.changes);
    this.#served = served;
    const versions = new Map<string, string>();
    for (const [typeUrl, type] of this.#cache.snapshotFor(this.group) ?? []) {
      if (type.resources.size > 0) versions.set(typeUrl, type.version);
    }
    this.#history.push({ versions, graphs: served });
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
