import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** How often a watched file's metadata is looked at; a rotated certificate is in use within it. */
export const DEFAULT_WATCH_INTERVAL_MS = 1000;

export interface WatchOptions {
  readonly intervalMs?: number;
  /** Where a reload, or a change that could not be loaded, is told. */
  readonly log?: (line: string) => void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Files read together into one value (a certificate, its key and a CA; a
 * token), and read again whenever one of them changes on disk, so a rotated
 * secret is used without a restart. The files are polled (fs.watchFile), not
 * watched by inotify: a poll sees a file written in place, renamed over, or
 * swapped behind a symlink (Kubernetes' `..data`) alike. A change whose
 * files do not make a value (a key written before its certificate, a
 * truncated file) keeps the previous value until the next change. Messages
 * name the files and the parser's reason, never their contents.
 */
export class WatchedFiles<T> {
  readonly #what: string;
  readonly #paths: readonly string[];
  readonly #parse: (contents: readonly Buffer[]) => T;
  readonly #log: (line: string) => void;
  readonly #listeners = new Set<(value: T) => void>();
  #value: T;
  #contents: readonly Buffer[];
  #reading: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(
    what: string,
    paths: readonly string[],
    parse: (contents: readonly Buffer[]) => T,
    contents: readonly Buffer[],
    value: T,
    log: (line: string) => void,
  ) {
    this.#what = what;
    this.#paths = paths;
    this.#parse = parse;
    this.#contents = contents;
    this.#value = value;
    this.#log = log;
  }

  /**
   * Reads `paths` and parses them; throws, naming `what` and the reason, if
   * they cannot be read or do not parse. Watching stops with `close`; it
   * never keeps the process alive on its own.
   */
  static async open<T>(
    what: string,
    paths: readonly string[],
    parse: (contents: readonly Buffer[]) => T,
    options: WatchOptions = {},
  ): Promise<WatchedFiles<T>> {
    let contents: Buffer[];
    try {
      contents = await Promise.all(paths.map((path) => readFile(path)));
    } catch (error) {
      throw new Error(`${what}: ${messageOf(error)}`);
    }
    let value: T;
    try {
      value = parse(contents);
    } catch (error) {
      throw new Error(`${what} (${paths.join(', ')}): ${messageOf(error)}`);
    }
    const watched = new WatchedFiles(
      what,
      paths,
      parse,
      contents,
      value,
      options.log ?? (() => undefined),
    );
    const interval = options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
    for (const path of paths) {
      watchFile(path, { interval, persistent: false }, watched.#changed);
    }
    return watched;
  }

  get value(): T {
    return this.#value;
  }

  /** Calls `listener` with each new value; returns the unsubscribe function. */
  onChange(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once every change seen so far has been read: for tests that rotate files. */
  settled(): Promise<void> {
    return this.#reading;
  }

  close(): void {
    this.#closed = true;
    for (const path of this.#paths) unwatchFile(path, this.#changed);
    this.#listeners.clear();
  }

  readonly #changed = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino) return;
    // One read at a time, in order: the last change seen is the one that stays.
    this.#reading = this.#reading.then(() => this.#reload());
  };

  async #reload(): Promise<void> {
    if (this.#closed) return;
    let contents: Buffer[];
    try {
      contents = await Promise.all(this.#paths.map((path) => readFile(path)));
    } catch (error) {
      this.#log(`${this.#what}: not reloaded, the previous stays in use: ${messageOf(error)}`);
      return;
    }
    if (contents.every((content, i) => this.#contents[i]?.equals(content) === true)) return;
    let value: T;
    try {
      value = this.#parse(contents);
    } catch (error) {
      this.#log(
        `${this.#what} (${this.#paths.join(', ')}) changed but is not usable, the previous stays in use: ${messageOf(error)}`,
      );
      return;
    }
    this.#contents = contents;
    this.#value = value;
    this.#log(`${this.#what}: reloaded from ${this.#paths.join(', ')}`);
    for (const listener of this.#listeners) listener(value);
  }
}
