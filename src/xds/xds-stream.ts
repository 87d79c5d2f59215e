import {
  CLUSTER,
  ENDPOINT,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  SCOPED_ROUTE,
  pushOrder,
  type ResourceTypeUrl,
} from '../envoy/type-urls.ts';
import type { GroupSnapshot, SnapshotCache, TypeSnapshot, VersionedResource } from './cache.ts';

/** What Envoy last did with a type: exposed by `status`. */
export interface TypeStatus {
  readonly sentVersion?: string;
  readonly ackedVersion?: string;
  readonly nack?: { readonly version: string; readonly message: string; readonly at: string };
}

export interface StreamStatus {
  readonly nodeId: string;
  readonly nodeCluster: string;
  readonly protocol: 'sotw' | 'delta';
  readonly connectedSince: string;
  readonly types: Readonly<Partial<Record<string, TypeStatus>>>;
}

export interface StreamEvents {
  /** A bug of ours broke this stream's push; Envoy keeps what it has. */
  failed(stream: XdsStream, error: Error): void;
  sent(stream: XdsStream, typeUrl: string, version: string): void;
  ack(stream: XdsStream, typeUrl: string, version: string): void;
  nack(stream: XdsStream, typeUrl: string, version: string, message: string): void;
}

/** Every resource a response stands for, and their names, built once by the sender. */
export interface WholeSend {
  readonly resources: readonly VersionedResource[];
  readonly names: ReadonlySet<string>;
}

export interface TypeState {
  /** Names Envoy asked for; undefined means every resource (LDS and CDS are always wildcard). */
  names: Set<string> | undefined;
  sent?: {
    readonly version: string;
    readonly nonce: string;
    /** Every resource the response stands for; kept where a stream needs it (SotW, clusters). */
    readonly names?: ReadonlySet<string>;
  };
  acked?: string;
  nack?: { version: string; message: string; at: string };
  /** Envoy keeps a changed cluster warming until it gets its endpoints again, changed or not. */
  resendEvenIfUnchanged: boolean;
  /**
   * The type snapshot this type was last brought up to date with, for this
   * subscription: while the cache hands out that same object, there is
   * nothing to send, and no need to look through every resource to know it.
   */
  basis?: TypeSnapshot | undefined;
  answered: (() => void) | undefined;
}

/** Types Envoy subscribes to as a whole; it names the route tables and endpoints it wants. */
export const wildcardTypes: ReadonlySet<string> = new Set([LISTENER, CLUSTER, SCOPED_ROUTE]);
/** How long to wait for Envoy to answer one response before going on without it. */
const answerTimeoutMs = 10_000;

export function isPushedType(typeUrl: string): typeUrl is ResourceTypeUrl {
  return (pushOrder as readonly string[]).includes(typeUrl);
}

/**
 * What both xDS variants share: one Envoy's stream state, and the order of
 * pushes. Make-before-break: clusters (old ones kept), endpoints, listeners,
 * filter configs (ECDS), route scopes, route tables, each after Envoy
 * answered the one before; then the clusters nothing uses any more are
 * dropped. A NACK is recorded and never answered by resending the same
 * config: the next push comes when the config changes.
 */
export abstract class XdsStream {
  readonly connectedSince = new Date();
  nodeId = '';
  nodeCluster = '';
  protected readonly types = new Map<string, TypeState>();
  protected readonly cache: SnapshotCache;
  protected readonly events: StreamEvents;
  protected closed = false;
  #nonce = 0;
  #lastSentClusters = new Map<string, VersionedResource>();
  #syncing = false;
  #dirty = false;

  constructor(cache: SnapshotCache, events: StreamEvents) {
    this.cache = cache;
    this.events = events;
  }

  abstract readonly protocol: 'sotw' | 'delta';

  /**
   * Sends what Envoy lacks of one type, if it asked for that type. Returns a
   * promise of Envoy's answer (ACK or NACK), or undefined if nothing was sent.
   */
  protected abstract send(
    typeUrl: ResourceTypeUrl,
    snapshot: GroupSnapshot,
    extra: readonly VersionedResource[],
  ): Promise<void> | undefined;

  close(): void {
    this.closed = true;
    for (const state of this.types.values()) state.answered?.();
  }

  /** The cache changed: bring this Envoy up to date. */
  changed(): void {
    void this.sync();
  }

  status(): StreamStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, state] of this.types) {
      types[typeUrl] = {
        ...(state.sent && { sentVersion: state.sent.version }),
        ...(state.acked !== undefined && { ackedVersion: state.acked }),
        ...(state.nack && { nack: state.nack }),
      };
    }
    return {
      nodeId: this.nodeId,
      nodeCluster: this.nodeCluster,
      protocol: this.protocol,
      connectedSince: this.connectedSince.toISOString(),
      types,
    };
  }

  protected identify(node: { id?: string; cluster?: string } | undefined): void {
    if (this.nodeId === '' && node) {
      this.nodeId = node.id ?? '';
      this.nodeCluster = node.cluster ?? '';
    }
  }

  /** The state of a type Envoy asks for; `first` when this is its first request for it. */
  protected stateOf(typeUrl: string): { state: TypeState; first: boolean } {
    const existing = this.types.get(typeUrl);
    if (existing) return { state: existing, first: false };
    const state: TypeState = {
      names: undefined,
      resendEvenIfUnchanged: false,
      answered: undefined,
    };
    this.types.set(typeUrl, state);
    return { state, first: true };
  }

  /** Envoy answered our latest response of a type (stale nonces never get here). */
  protected answered(
    typeUrl: string,
    state: TypeState,
    error: { code?: number; message?: string } | undefined,
    ackedVersion: string,
  ): void {
    const sent = state.sent;
    if (!sent) return;
    if (error && ((error.message ?? '') !== '' || (error.code ?? 0) !== 0)) {
      const message = error.message ?? '';
      state.nack = { version: sent.version, message, at: new Date().toISOString() };
      this.events.nack(this, typeUrl, sent.version, message);
    } else {
      state.acked = ackedVersion;
      this.events.ack(this, typeUrl, ackedVersion);
    }
    const resolve = state.answered;
    state.answered = undefined;
    resolve?.();
  }

  /** Whether the type is known up to date with `snapshot` without looking at its resources. */
  protected upToDate(
    state: TypeState,
    typeUrl: ResourceTypeUrl,
    snapshot: GroupSnapshot,
    extra: readonly VersionedResource[],
  ): boolean {
    return (
      !state.resendEvenIfUnchanged &&
      extra.length === 0 &&
      state.basis !== undefined &&
      state.basis === snapshot.get(typeUrl)
    );
  }

  /** Reacts to a subscription change: endpoints at once, the rest in push order. */
  protected subscriptionChanged(typeUrl: string, first: boolean, changed: boolean): void {
    const state = this.types.get(typeUrl);
    if (changed && state) state.basis = undefined;
    if (typeUrl === ENDPOINT && changed) {
      // Warming clusters wait for these: answer at once, whatever else is in flight.
      const snapshot = this.cache.snapshotFor(this.nodeCluster);
      if (snapshot) void this.send(ENDPOINT, snapshot, []);
    } else if (first || changed) {
      void this.sync();
    }
  }

  /**
   * Records a response about to be written and returns its nonce and the
   * promise of its answer. `whole`, every resource the response stands
   * for, is needed for clusters (the stale ones are resent from it) and by
   * SotW; an incremental response may leave it out.
   */
  protected recordSend(
    typeUrl: ResourceTypeUrl,
    state: TypeState,
    version: string,
    whole: WholeSend | undefined,
  ): { nonce: string; answered: Promise<void> } {
    state.resendEvenIfUnchanged = false;
    this.#nonce += 1;
    const nonce = String(this.#nonce);
    state.sent = whole ? { version, nonce, names: whole.names } : { version, nonce };
    if (typeUrl === CLUSTER && whole) {
      this.#lastSentClusters = new Map(whole.resources.map((r) => [r.name, r]));
    }
    const answered = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, answerTimeoutMs);
      timer.unref();
      state.answered = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.events.sent(this, typeUrl, version);
    return { nonce, answered };
  }

  /** The resources of a type that Envoy subscribed to, plus `extra`. */
  protected wanted(
    state: TypeState,
    snapshot: GroupSnapshot,
    typeUrl: ResourceTypeUrl,
    extra: readonly VersionedResource[],
  ): VersionedResource[] {
    const available = snapshot.get(typeUrl)?.resources ?? new Map<string, VersionedResource>();
    const subscribed = [...available.values()].filter(
      (r) => state.names === undefined || state.names.has(r.name),
    );
    return [...subscribed, ...extra];
  }

  protected async sync(): Promise<void> {
    if (this.#syncing) {
      this.#dirty = true;
      return;
    }
    this.#syncing = true;
    try {
      do {
        this.#dirty = false;
        await this.#pass();
      } while (this.#needsAnotherPass());
    } catch (error) {
      this.events.failed(this, error as Error);
    } finally {
      this.#syncing = false;
    }
  }

  /** Whether something changed while the last pass waited for Envoy. */
  #needsAnotherPass(): boolean {
    return this.#dirty && !this.closed;
  }

  /**
   * Envoy ACKs a CDS response only once its new clusters are warm, and a
   * cluster warms only when its endpoints arrive: so endpoints go out right
   * after clusters (and whenever Envoy asks for new names), never gated on
   * the CDS ACK, while listeners and routes wait for it.
   */
  async #pass(): Promise<void> {
    const snapshot = this.cache.snapshotFor(this.nodeCluster);
    if (!snapshot) return;
    // Clusters that the routes Envoy runs may still use stay until the new routes are in.
    const stale = this.#staleClusters(snapshot);
    const clustersAnswered = this.send(CLUSTER, snapshot, stale);
    const endpoints = this.types.get(ENDPOINT);
    if (clustersAnswered && endpoints) endpoints.resendEvenIfUnchanged = true;
    // Not awaited: Envoy's EDS answer gates nothing here.
    void this.send(ENDPOINT, snapshot, []);
    await clustersAnswered;
    for (const typeUrl of [LISTENER, EXTENSION_CONFIG, SCOPED_ROUTE, ROUTE] as const) {
      if (this.closed) return;
      await this.send(typeUrl, snapshot, []);
    }
    if (stale.length > 0 && !this.closed) await this.send(CLUSTER, snapshot, []);
  }

  #staleClusters(snapshot: GroupSnapshot): VersionedResource[] {
    const sent = this.types.get(CLUSTER)?.sent?.names;
    const current = snapshot.get(CLUSTER)?.resources;
    if (!sent || !current) return [];
    return [...sent]
      .filter((name) => !current.has(name))
      .flatMap((name) => {
        const resource = this.#lastSentClusters.get(name);
        return resource ? [resource] : [];
      });
  }
}

export function sameNames(
  a: ReadonlySet<string> | undefined,
  b: ReadonlySet<string> | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && [...a].every((name) => b.has(name));
}
