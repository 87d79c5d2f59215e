import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadGraphFile } from '../graph/load.ts';
import { graphFileExtensions } from './graph-files.ts';
import type { SourceUpdate } from './source-update.ts';

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

/**
 * A directory of graph files, watched: each change is reported as the
 * current state of the files it touched (their graphs or their problems),
 * or that they are gone. A file rewritten with the same text is not
 * reported, so its graphs stay the same objects downstream; a new version
 * with problems is reported once the file has settled, since an editor
 * saving in place truncates the file first.
 */
export class GraphDirectory {
  readonly #dir: string;
  readonly #onChange: (updates: readonly SourceUpdate[]) => void;
  /** The text of every file read, by name. */
  readonly #texts = new Map<string, string>();
  readonly #pending = new Set<string>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(dir: string, onChange: (updates: readonly SourceUpdate[]) => void) {
    this.#dir = dir;
    this.#onChange = onChange;
  }

  /** Loads every file once, then watches; resolves after the first report was delivered. */
  async start(): Promise<void> {
    this.#watcher = watch(this.#dir, (_event, filename) => {
      if (filename === null) {
        void this.#rescan();
        return;
      }
      if (!graphFileExtensions.has(extname(filename))) return;
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
    const present = entries.filter((name) => graphFileExtensions.has(extname(name)));
    const presentNames = new Set(present);
    const gone = [...this.#texts.keys()].filter((name) => !presentNames.has(name));
    this.#enqueue([...present.sort(), ...gone]);
    await this.#queue;
  }

  /** Changes are read one batch at a time, in order, so no read overtakes another. */
  #enqueue(names: readonly string[]): void {
    this.#queue = this.#queue.then(async () => {
      const updates: SourceUpdate[] = [];
      for (const name of new Set(names)) {
        const update = await this.#read(name);
        if (update) updates.push(update);
      }
      if (updates.length > 0) this.#onChange(updates);
    });
  }

  async #read(name: string): Promise<SourceUpdate | undefined> {
    const unit = this.#path(name);
    const gone = () => (this.#texts.delete(name) ? { unit, removed: true as const } : undefined);
    const bytes = await readIfPresent(unit);
    if (!bytes) return gone();
    let loaded = loadGraphFile(unit, bytes);
    if (this.#texts.get(name) === loaded.text) return undefined;
    if (loaded.diagnostics.length > 0) {
      // A new version with problems may be a write still under way: it counts once settled.
      const settled = await settle(unit, bytes);
      if (!settled) return gone();
      if (settled !== bytes) loaded = loadGraphFile(unit, settled);
      if (this.#texts.get(name) === loaded.text) return undefined;
    }
    this.#texts.set(name, loaded.text);
    return { unit, graphs: loaded.graphs, diagnostics: loaded.diagnostics };
  }
}
