import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GraphModel } from '../graph/model.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { checkGraphSet } from '../spec/graph-set.ts';
import { loadGraphDocuments } from '../spec/load.ts';
import { graphFileExtensions } from './graph-files.ts';

const graphExtensions = graphFileExtensions;

interface FileState {
  readonly text: string;
  /** The graphs of the last version of this file that passed every check. */
  readonly accepted: readonly GraphModel[];
  /** Problems of the current version; empty when it is the accepted one. */
  readonly diagnostics: readonly Diagnostic[];
}

export interface DirectorySnapshot {
  /** Accepted graphs of every file, in file order. */
  readonly graphs: readonly GraphModel[];
  /** Problems per file that has any. */
  readonly problems: ReadonlyMap<string, readonly Diagnostic[]>;
}

/**
 * A directory of graph files, watched. A file that fails validation is
 * reported and its last good graphs keep serving; a deleted file's graphs
 * go away. Each change is delivered as a whole snapshot.
 */
export class GraphDirectory {
  readonly #dir: string;
  readonly #onChange: (snapshot: DirectorySnapshot) => void;
  readonly #files = new Map<string, FileState>();
  readonly #pending = new Set<string>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(dir: string, onChange: (snapshot: DirectorySnapshot) => void) {
    this.#dir = dir;
    this.#onChange = onChange;
  }

  /** Loads every file once, then watches; resolves after the first snapshot was delivered. */
  async start(): Promise<void> {
    this.#watcher = watch(this.#dir, (_event, filename) => {
      if (filename === null) {
        void this.#rescan();
        return;
      }
      if (!graphExtensions.has(extname(filename))) return;
      this.#pending.add(filename);
      // Editors write in bursts (truncate, write, rename): settle briefly before reading.
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.#flush();
      }, 30);
    });
    await this.#rescan();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }

  snapshot(): DirectorySnapshot {
    const names = [...this.#files.keys()].sort();
    const problems = new Map<string, readonly Diagnostic[]>();
    for (const name of names) {
      const state = this.#files.get(name);
      if (state && state.diagnostics.length > 0) problems.set(this.#path(name), state.diagnostics);
    }
    return { graphs: names.flatMap((name) => this.#files.get(name)?.accepted ?? []), problems };
  }

  #path(name: string): string {
    return join(this.#dir, name);
  }

  #flush(): void {
    const names = [...this.#pending];
    this.#pending.clear();
    this.#enqueue(names);
  }

  async #rescan(): Promise<void> {
    const entries = await readdir(this.#dir).catch(() => [] as string[]);
    const present = entries.filter((name) => graphExtensions.has(extname(name)));
    const gone = [...this.#files.keys()].filter((name) => !present.includes(name));
    this.#enqueue([...present.sort(), ...gone]);
    await this.#queue;
  }

  /** Changes are applied one batch at a time, in order, so no read overtakes another. */
  #enqueue(names: readonly string[]): void {
    this.#queue = this.#queue.then(async () => {
      let changed = false;
      for (const name of names) changed = (await this.#reload(name)) || changed;
      if (changed) this.#onChange(this.snapshot());
    });
  }

  async #reload(name: string): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.#path(name), 'utf8');
    } catch {
      return this.#files.delete(name);
    }
    const previous = this.#files.get(name);
    if (previous?.text === text) return false;
    const source = this.#path(name);
    const loaded = loadGraphDocuments(source, text);
    const conflicts =
      loaded.diagnostics.length > 0 ? [] : this.#conflictsOf(name, source, loaded.graphs);
    const diagnostics = [...loaded.diagnostics, ...conflicts];
    this.#files.set(name, {
      text,
      accepted: diagnostics.length === 0 ? loaded.graphs : (previous?.accepted ?? []),
      diagnostics,
    });
    return true;
  }

  /** Graphs already served win: a new claim on their host and path is the one rejected. */
  #conflictsOf(name: string, source: string, graphs: readonly GraphModel[]): Diagnostic[] {
    const others = [...this.#files.entries()]
      .filter(([other]) => other !== name)
      .flatMap(([, state]) => state.accepted);
    return checkGraphSet([...others, ...graphs]).filter((d) => d.source === source);
  }
}
