import {
  ApiException,
  makeInformer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';

/** How an informer waits after an error before it lists and watches again. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 10_000 };

/** Errors that say the resource is not served at all: its CRD is not installed. */
function notServed(error: unknown): boolean {
  const code =
    error instanceof ApiException
      ? error.code
      : (error as { statusCode?: unknown } | undefined)?.statusCode;
  return code === 404;
}

function describeError(error: unknown): string {
  if (error instanceof ApiException)
    return `${String(error.code)} ${error.message.split('\n')[0] ?? ''}`;
  return error instanceof Error ? error.message : String(error);
}

/** A connection that stayed up this long was not part of an outage: backoff starts over. */
const healthyAfterMs = 30_000;

export interface InformerOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** What it follows, for log lines: "inferencegraphs in models". */
  readonly what: string;
  /** The watch path, e.g. /api/v1/namespaces/models/services. */
  readonly path: string;
  readonly list: ListPromise<T>;
  /** Called for every object added, changed or deleted (a deleted one with `deleted`). */
  readonly onChange: (object: T, deleted: boolean) => void;
  readonly log: (line: string) => void;
  readonly backoff?: Backoff | undefined;
  /**
   * A resource that may not be served (a CRD not installed): listing it
   * answering 404 counts as synced, with nothing in it, and it is listed
   * again now and then in case it is installed.
   */
  readonly optional?: boolean;
}

/**
 * A client-node informer that keeps going: client-node's informer re-lists
 * on 410 Gone itself, but stops on any other error; this one starts it
 * again after a backoff that doubles, with jitter, up to a bound, so an API
 * server that is down or restarting is neither hammered nor given up on.
 */
export class Informer<T extends KubernetesObject> {
  readonly #options: InformerOptions<T>;
  readonly #informer;
  readonly #backoff: Backoff;
  #synced = false;
  #absent = false;
  #failures = 0;
  #startedAt = 0;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #lists = 0;
  #whenSynced: (() => void)[] = [];

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#informer = makeInformer(options.kubeConfig, options.path, () => this.#list());
    this.#informer.on('add', (object) => {
      options.onChange(object, false);
    });
    this.#informer.on('update', (object) => {
      options.onChange(object, false);
    });
    this.#informer.on('delete', (object) => {
      options.onChange(object, true);
    });
    this.#informer.on('error', (error) => {
      this.#failed(error);
    });
  }

  /** Whether the first list is in: the cache holds what was there when it started. */
  get synced(): boolean {
    return this.#synced;
  }

  /** How many times it listed: once, then again after each error or expired watch. */
  get lists(): number {
    return this.#lists;
  }

  start(): void {
    this.#stopped = false;
    this.#run();
  }

  /** Resolves once the first list is in. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#whenSynced.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#informer.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.#informer.list(namespace);
  }

  #run(): void {
    if (this.#stopped) return;
    this.#startedAt = Date.now();
    this.#informer.start().catch((error: unknown) => {
      this.#failed(error);
    });
  }

  async #list() {
    this.#lists += 1;
    try {
      const list = await this.#options.list();
      if (this.#absent) this.#options.log(`${this.#options.what}: now served`);
      this.#absent = false;
      this.#settled();
      return list;
    } catch (error) {
      if (this.#options.optional !== true || !notServed(error)) throw error;
      if (!this.#absent) this.#options.log(`${this.#options.what}: not served (no CRD); none used`);
      this.#absent = true;
      this.#settled();
      throw error;
    }
  }

  /** Marks the cache synced once the informer has taken in what the list returned. */
  #settled(): void {
    if (this.#synced) return;
    // The informer fills its cache when the list's promise resolves: after this turn's microtasks.
    setImmediate(() => {
      if (this.#synced) return;
      this.#synced = true;
      for (const resolve of this.#whenSynced.splice(0)) resolve();
    });
  }

  #failed(error: unknown): void {
    if (this.#stopped) return;
    if (Date.now() - this.#startedAt > healthyAfterMs) this.#failures = 0;
    this.#failures += 1;
    const { initialMs, maxMs } = this.#backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures - 1, 20));
    const absent = this.#absent && notServed(error);
    // Half to all of the ceiling, so replicas that lost the API server together come back apart.
    const delay = absent ? maxMs : ceiling / 2 + (Math.random() * ceiling) / 2;
    if (!absent) {
      this.#options.log(
        `${this.#options.what}: ${describeError(error)}; listing and watching again in ${String(Math.round(delay))} ms`,
      );
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#run();
    }, delay);
  }
}
