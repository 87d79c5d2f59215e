import type protobuf from 'protobufjs';
import type { ListenerOptions } from '../envoy/options.ts';
import type { GraphModel } from '../graph/model.ts';
import type { ExecutorRoutePlan } from '../plan/types.ts';
import { log } from '../runtime/log.ts';
import { GraphDirectory } from '../sources/graph-directory.ts';
import type { SourceUpdate } from '../sources/source-update.ts';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';
import type { SnapshotCache } from '../xds/cache.ts';
import { GraphCompiler } from './compile.ts';
import { LastGoodGraphs } from './last-good.ts';

/** Where the executor takes over a graph, and how Envoy brings it requests. */
export type ExecutorEntry = Pick<ExecutorRoutePlan, 'entry' | 'transport' | 'binaryTensorsOnly'>;

/**
 * One node group's pipeline: its graph directory in, its snapshot out. What
 * is served is decided in one place (LastGoodGraphs): a unit whose new
 * version fails any check keeps its last good version.
 */
export class GroupPipeline {
  readonly group: string;
  readonly #cache: SnapshotCache;
  readonly #compiler: GraphCompiler;
  readonly #graphs: LastGoodGraphs;
  readonly #directory: GraphDirectory;
  readonly #reported = new Map<string, string>();

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
    this.#graphs = new LastGoodGraphs((graph) => this.#compiler.problemsOf(graph));
    this.#directory = new GraphDirectory(dir, (updates) => {
      this.#apply(updates);
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
        ?.graph.executors.map(({ entry, transport, binaryTensorsOnly }) => ({
          entry,
          transport,
          ...(binaryTensorsOnly && { binaryTensorsOnly }),
        })) ?? []
    );
  }

  problems(): ReadonlyMap<string, readonly Diagnostic[]> {
    return this.#graphs.problems();
  }

  served(): readonly GraphModel[] {
    return this.#graphs.graphs();
  }

  /** Serves the same graphs on new data-plane options (a rotated executor CA). */
  useListener(listener: ListenerOptions): void {
    this.#compiler.useListener(listener);
    this.#publish();
  }

  /**
   * Serves what a change leaves served. Every served graph passed its
   * checks, the compiler's among them, so the compile leaves none out; it
   * costs what changed, not how many graphs there are.
   */
  #apply(updates: readonly SourceUpdate[]): void {
    if (!this.#graphs.apply(updates)) return;
    this.#publish();
  }

  #publish(): void {
    const served = this.#graphs.graphs();
    const compiled = this.#compiler.compile(served);
    this.#report(this.#graphs.problems());
    // The changes are relative to the last compile, which is what the cache has only when it
    // was the first: the cache checks that, and looks at everything otherwise.
    const changed = this.#cache.setSnapshot(this.group, compiled.resources, compiled.changes);
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
