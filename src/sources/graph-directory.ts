import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GraphModel } from '../graph/model.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { checkGraphSet, nestsGraphs, ServedClaims } from '../graph/graph-set.ts';
import { loadGraphFile } from '../graph/load.ts';
import { graphFileExtensions } from './graph-files.ts';

const graphExtensions = graphFileExtensions;

/** How long a file with problems must keep the same bytes before its problems are reported. */
export const SETTLE_MS = 150;
/** A file still changing after this long is read as it then is. */
const SETTLE_LIMIT_MS = 3000;
const SETTLE_POLL_MS = 25;

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/**
 * The file's bytes once they have stayed the same for SETTLE_MS, or as soon
 * as they load without a problem; undefined if the file went away.
 */
async function settle(path: string, first: Buffer): Promise<Buffer | undefined> {
  let current = first;
  let stableSince = performance.now();
  const giveUpAt = stableSince + SETTLE_LIMIT_MS;
  while (performance.now() < giveUpAt) {
    await sleep(SETTLE_POLL_MS);
    const next = await readIfPresent(path);
    if (!next) return undefined;
    if (next.equals(current)) {
      if (performance.now() - stableSince >= SETTLE_MS) return current;
      continue;
    }
    current = next;
    stableSince = performance.now();
    if (loadGraphFile(path, current).diagnostics.length === 0) return current;
  }
  return current;
}

interface FileState {
  readonly text: string;
  /** The graphs of the last version of this file that passed every check. */
  readonly accepted: readonly GraphModel[];
  /** Problems of the current version; empty when it is the accepted one. */
  readonly diagnostics: readonly Diagnostic[];
}

/** A file read in a batch, before the checks across files. */
interface Candidate {
  readonly name: string;
  readonly source: string;
  readonly text: string;
  readonly graphs: readonly GraphModel[];
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
  /** The keys of #files, sorted; dropped whenever a file comes or goes. */
  #names: string[] | undefined;
  /** Claims of every accepted graph. */
  readonly #claims = new ServedClaims();
  /** Files whose accepted graphs nest others: while there are any, checks look at every graph. */
  readonly #nesting = new Set<string>();
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
    const graphs: GraphModel[] = [];
    const problems = new Map<string, readonly Diagnostic[]>();
    for (const name of this.#sortedNames()) {
      const state = this.#files.get(name);
      if (!state) continue;
      for (const graph of state.accepted) graphs.push(graph);
      if (state.diagnostics.length > 0) problems.set(this.#path(name), state.diagnostics);
    }
    return { graphs, problems };
  }

  /** File names in order; sorted again only when a file comes or goes. */
  #sortedNames(): readonly string[] {
    this.#names ??= [...this.#files.keys()].sort();
    return this.#names;
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
    const presentNames = new Set(present);
    const gone = [...this.#files.keys()].filter((name) => !presentNames.has(name));
    this.#enqueue([...present.sort(), ...gone]);
    await this.#queue;
  }

  /**
   * Changes are applied one batch at a time, in order, so no read overtakes
   * another. Files with problems are checked again with every batch: the
   * graph a file nests may have just arrived in another file.
   */
  #enqueue(names: readonly string[]): void {
    this.#queue = this.#queue.then(async () => {
      const failing = [...this.#files].filter(([, state]) => state.diagnostics.length > 0);
      const batch = [...new Set([...names, ...failing.map(([name]) => name)])];
      let changed = false;
      let deleted = false;
      const candidates: Candidate[] = [];
      for (const name of batch) {
        const candidate = await this.#read(name);
        if (candidate === 'deleted') {
          if (this.#forget(name)) deleted = changed = true;
        } else if (candidate !== 'unchanged') candidates.push(candidate);
      }
      // A graph that went away may be one another graph nests.
      if (candidates.length > 0 || (deleted && this.#nesting.size > 0)) {
        changed = this.#check(candidates) || changed;
      }
      if (changed) this.#onChange(this.snapshot());
    });
  }

  async #read(name: string): Promise<Candidate | 'deleted' | 'unchanged'> {
    const source = this.#path(name);
    const bytes = await readIfPresent(source);
    if (!bytes) return 'deleted';
    let loaded = loadGraphFile(source, bytes);
    const previous = this.#files.get(name);
    if (previous?.text === loaded.text) {
      if (previous.diagnostics.length === 0) return 'unchanged';
    } else if (loaded.diagnostics.length > 0) {
      // A new version with problems may be a write still under way (an in-place write
      // truncates the file first): it counts once the file has settled.
      const settled = await settle(source, bytes);
      if (!settled) return 'deleted';
      if (settled !== bytes) loaded = loadGraphFile(source, settled);
      if (previous?.text === loaded.text && previous.diagnostics.length === 0) return 'unchanged';
    }
    return { name, source, ...loaded };
  }

  /**
   * A served file the batch did not touch can still break a set check: a
   * graph it nests went away. It keeps serving its last good graphs, with
   * the problem reported, and is checked again with every batch until fixed.
   */
  #reportServed(inBatch: ReadonlySet<string>, setProblems: readonly Diagnostic[]): boolean {
    const bySource = new Map<string, Diagnostic[]>();
    for (const diagnostic of setProblems) {
      const found = bySource.get(diagnostic.source);
      if (found) found.push(diagnostic);
      else bySource.set(diagnostic.source, [diagnostic]);
    }
    let changed = false;
    for (const [name, state] of this.#files) {
      const diagnostics = bySource.get(this.#path(name));
      if (inBatch.has(name) || !diagnostics) continue;
      this.#files.set(name, { ...state, diagnostics });
      changed = true;
    }
    return changed;
  }

  #forget(name: string): boolean {
    const state = this.#files.get(name);
    if (!state) return false;
    for (const graph of state.accepted) this.#claims.remove(graph);
    this.#nesting.delete(name);
    this.#names = undefined;
    return this.#files.delete(name);
  }

  /**
   * Checks a batch's files against every graph served and each other. Graphs
   * already served win: a new claim on their host and path is the one
   * rejected. Without nesting, names and routes are all there is to check,
   * and the served graphs' claims are at hand: the check costs the batch.
   */
  #check(candidates: readonly Candidate[]): boolean {
    const inBatch = new Set(candidates.map((c) => c.name));
    for (const name of inBatch) {
      for (const graph of this.#files.get(name)?.accepted ?? []) this.#claims.remove(graph);
    }
    const fresh = candidates.flatMap((candidate) =>
      candidate.diagnostics.length === 0
        ? candidate.graphs
        : (this.#files.get(candidate.name)?.accepted ?? []),
    );
    let setProblems: Diagnostic[];
    let changed = false;
    if (this.#nesting.size === 0 && !fresh.some(nestsGraphs)) {
      setProblems = checkGraphSet(fresh, this.#claims);
    } else {
      const graphs: GraphModel[] = [];
      for (const name of this.#sortedNames()) {
        if (inBatch.has(name)) continue;
        for (const graph of this.#files.get(name)?.accepted ?? []) graphs.push(graph);
      }
      setProblems = checkGraphSet([...graphs, ...fresh]);
      changed = this.#reportServed(inBatch, setProblems);
    }
    for (const candidate of candidates) {
      const previous = this.#files.get(candidate.name);
      const diagnostics =
        candidate.diagnostics.length > 0
          ? candidate.diagnostics
          : setProblems.filter((d) => d.source === candidate.source);
      const accepted = diagnostics.length === 0 ? candidate.graphs : (previous?.accepted ?? []);
      changed ||=
        previous?.text !== candidate.text ||
        previous.accepted !== accepted ||
        JSON.stringify(previous.diagnostics) !== JSON.stringify(diagnostics);
      if (!previous) this.#names = undefined;
      this.#files.set(candidate.name, { text: candidate.text, accepted, diagnostics });
      for (const graph of accepted) this.#claims.add(graph);
      if (accepted.some(nestsGraphs)) this.#nesting.add(candidate.name);
      else this.#nesting.delete(candidate.name);
    }
    return changed;
  }
}
