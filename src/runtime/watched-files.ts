import { readFile } from 'node:fs/promises';

/** How often watched files are read again; a rotated certificate is in use within it. */
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
 * secret is used without a restart. The files' contents are read again on a
 * timer and compared, not watched by inotify or by their metadata: a read
 * sees a file written in place (even twice within one timestamp tick, with
 * the same size), renamed over, or swapped behind a symlink (Kubernetes'
 * `..data`) alike, and certificates and tokens are small. A change whose
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
  /** The contents last read, taken or not: an unusable version is told once, not at every read. */
  #contents: readonly Buffer[];
  #readError: string | undefined;
  #reading = false;
  #timer: NodeJS.Timeout | undefined;
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
    watched.#timer = setInterval(
      watched.#poll,
      options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS,
    ).unref();
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

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#listeners.clear();
  }

  readonly #poll = (): void => {
    // One read at a time: on a slow disk, reads are skipped rather than stacked.
    if (this.#reading) return;
    this.#reading = true;
    void this.#reload().finally(() => {
      this.#reading = false;
    });
  };

  async #reload(): Promise<void> {
    if (this.#closed) return;
    let contents: Buffer[];
    try {
      contents = await Promise.all(this.#paths.map((path) => readFile(path)));
    } catch (error) {
      const reason = messageOf(error);
      if (reason !== this.#readError) {
        this.#log(`${this.#what}: not reloaded, the previous stays in use: ${reason}`);
      }
      this.#readError = reason;
      return;
    }
    this.#readError = undefined;
    if (contents.every((content, i) => this.#contents[i]?.equals(content) === true)) return;
    this.#contents = contents;
    let value: T;
    try {
      value = this.#parse(contents);
    } catch (error) {
      this.#log(
        `${this.#what} (${this.#paths.join(', ')}) changed but is not usable, the previous stays in use: ${messageOf(error)}`,
      );
      return;
    }
    this.#value = value;
    this.#log(`${this.#what}: reloaded from ${this.#paths.join(', ')}`);
    for (const listener of this.#listeners) listener(value);
  }
}
