import {
  CLUSTER,
  ENDPOINT,
  LISTENER,
  ROUTE,
  pushOrder,
  type ResourceTypeUrl,
} from '../envoy/type-urls.ts';
import {
  versionOf,
  type GroupSnapshot,
  type SnapshotCache,
  type VersionedResource,
} from './cache.ts';
import type { DiscoveryCodec, DiscoveryRequest, DiscoveryResponse } from './discovery-codec.ts';

/** What Envoy last did with a type: exposed by `status`. */
export interface TypeStatus {
  readonly sentVersion?: string;
  readonly ackedVersion?: string;
  readonly nack?: { readonly version: string; readonly message: string; readonly at: string };
}

export interface StreamStatus {
  readonly nodeId: string;
  readonly nodeCluster: string;
  readonly connectedSince: string;
  readonly types: Readonly<Partial<Record<string, TypeStatus>>>;
}

export interface StreamEvents {
  /** A bug of ours broke this stream's push; Envoy keeps what it has. */
  failed(stream: SotwStream, error: Error): void;
  sent(stream: SotwStream, typeUrl: string, version: string): void;
  ack(stream: SotwStream, typeUrl: string, version: string): void;
  nack(stream: SotwStream, typeUrl: string, version: string, message: string): void;
}

interface Sent {
  readonly version: string;
  readonly nonce: string;
  readonly names: ReadonlySet<string>;
}

interface TypeState {
  /** Names Envoy asked for; undefined means every resource (LDS and CDS are always wildcard). */
  names: Set<string> | undefined;
  sent?: Sent;
  acked?: string;
  nack?: { version: string; message: string; at: string };
  /** Envoy keeps a changed cluster warming until it gets its endpoints again, changed or not. */
  resendEvenIfUnchanged: boolean;
  answered: (() => void) | undefined;
}

const wildcardTypes: ReadonlySet<string> = new Set([LISTENER, CLUSTER]);
/** How long to wait for Envoy to answer one response before going on without it. */
const answerTimeoutMs = 10_000;

/**
 * One Envoy's state-of-the-world ADS stream. Pushes in make-before-break
 * order: clusters (old ones kept), endpoints, listeners, routes, each after
 * Envoy answered the one before; then the clusters nothing uses any more
 * are dropped. A NACK is recorded and never answered by resending the same
 * config: the next push comes when the config really changes.
 */
export class SotwStream {
  readonly connectedSince = new Date();
  nodeId = '';
  nodeCluster = '';
  readonly #types = new Map<string, TypeState>();
  readonly #cache: SnapshotCache;
  readonly #codec: DiscoveryCodec;
  readonly #write: (response: DiscoveryResponse) => void;
  readonly #events: StreamEvents;
  #nonce = 0;
  #lastSentClusters = new Map<string, VersionedResource>();
  #syncing = false;
  #dirty = false;
  #closed = false;

  constructor(
    cache: SnapshotCache,
    codec: DiscoveryCodec,
    write: (r: DiscoveryResponse) => void,
    events: StreamEvents,
  ) {
    this.#cache = cache;
    this.#codec = codec;
    this.#write = write;
    this.#events = events;
  }

  close(): void {
    this.#closed = true;
    for (const state of this.#types.values()) state.answered?.();
  }

  /** The cache changed: bring this Envoy up to date. */
  changed(): void {
    void this.#sync();
  }

  onRequest(request: DiscoveryRequest): void {
    if (this.nodeId === '' && request.node) {
      this.nodeId = request.node.id ?? '';
      this.nodeCluster = request.node.cluster ?? '';
    }
    const typeUrl = request.type_url;
    if (!(pushOrder as readonly string[]).includes(typeUrl)) return;
    let state = this.#types.get(typeUrl);
    const first = state === undefined;
    state ??= { names: undefined, resendEvenIfUnchanged: false, answered: undefined };
    this.#types.set(typeUrl, state);

    // An answer to our latest response; answers to older ones (stale nonces) only carry subscriptions.
    if (state.sent && request.response_nonce === state.sent.nonce) {
      const error = request.error_detail;
      if (
        error &&
        ((error.message !== undefined && error.message !== '') || (error.code ?? 0) !== 0)
      ) {
        state.nack = {
          version: state.sent.version,
          message: error.message ?? '',
          at: new Date().toISOString(),
        };
        this.#events.nack(this, typeUrl, state.sent.version, error.message ?? '');
      } else {
        state.acked = request.version_info;
        this.#events.ack(this, typeUrl, request.version_info);
      }
      const answered = state.answered;
      state.answered = undefined;
      answered?.();
    }

    const names = wildcardTypes.has(typeUrl) ? undefined : new Set(request.resource_names);
    const subscriptionChanged = !sameNames(state.names, names);
    state.names = names;
    if (typeUrl === ENDPOINT && subscriptionChanged) {
      // Warming clusters wait for these: answer at once, whatever else is in flight.
      const snapshot = this.#cache.snapshotFor(this.nodeCluster);
      if (snapshot) void this.#send(ENDPOINT, snapshot, []);
    } else if (first || subscriptionChanged) {
      void this.#sync();
    }
  }

  status(): StreamStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, state] of this.#types) {
      types[typeUrl] = {
        ...(state.sent && { sentVersion: state.sent.version }),
        ...(state.acked !== undefined && { ackedVersion: state.acked }),
        ...(state.nack && { nack: state.nack }),
      };
    }
    return {
      nodeId: this.nodeId,
      nodeCluster: this.nodeCluster,
      connectedSince: this.connectedSince.toISOString(),
      types,
    };
  }

  async #sync(): Promise<void> {
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
      this.#events.failed(this, error as Error);
    } finally {
      this.#syncing = false;
    }
  }

  /** Whether something changed while the last pass waited for Envoy. */
  #needsAnotherPass(): boolean {
    return this.#dirty && !this.#closed;
  }

  /**
   * Envoy ACKs a CDS response only once its new clusters are warm, and a
   * cluster warms only when its endpoints arrive: so endpoints go out right
   * after clusters (and whenever Envoy asks for new names), never gated on
   * the CDS ACK, while listeners and routes wait for it.
   */
  async #pass(): Promise<void> {
    const snapshot = this.#cache.snapshotFor(this.nodeCluster);
    if (!snapshot) return;
    // Clusters that the routes Envoy runs may still use stay until the new routes are in.
    const stale = this.#staleClusters(snapshot);
    const clustersAnswered = this.#send(CLUSTER, snapshot, stale);
    const endpoints = this.#types.get(ENDPOINT);
    if (clustersAnswered && endpoints) endpoints.resendEvenIfUnchanged = true;
    // Not awaited: Envoy's EDS answer gates nothing here.
    void this.#send(ENDPOINT, snapshot, []);
    await clustersAnswered;
    for (const typeUrl of [LISTENER, ROUTE] as const) {
      if (this.#closed) return;
      await this.#send(typeUrl, snapshot, []);
    }
    if (stale.length > 0 && !this.#closed) await this.#send(CLUSTER, snapshot, []);
  }

  #staleClusters(snapshot: GroupSnapshot): VersionedResource[] {
    const sent = this.#types.get(CLUSTER)?.sent;
    const current = snapshot.get(CLUSTER)?.resources;
    if (!sent || !current) return [];
    const previous = this.#lastSentClusters;
    return [...sent.names]
      .filter((name) => !current.has(name))
      .flatMap((name) => {
        const resource = previous.get(name);
        return resource ? [resource] : [];
      });
  }

  /**
   * Sends one type if Envoy asked for it and it differs from what Envoy has.
   * Returns a promise of Envoy's answer (ACK or NACK), or undefined if
   * nothing was sent.
   */
  #send(
    typeUrl: ResourceTypeUrl,
    snapshot: GroupSnapshot,
    extra: readonly VersionedResource[],
  ): Promise<void> | undefined {
    const state = this.#types.get(typeUrl);
    if (!state) return undefined;
    const available = snapshot.get(typeUrl)?.resources ?? new Map<string, VersionedResource>();
    const resources = [
      ...[...available.values()].filter(
        (r) => state.names === undefined || state.names.has(r.name),
      ),
      ...extra,
    ];
    const version = versionOf(resources);
    const names = new Set(resources.map((r) => r.name));
    const unchanged = state.sent?.version === version && sameNames(state.sent.names, names);
    if (unchanged && !state.resendEvenIfUnchanged) return undefined;
    state.resendEvenIfUnchanged = false;
    this.#nonce += 1;
    const nonce = String(this.#nonce);
    state.sent = { version, nonce, names };
    if (typeUrl === CLUSTER) this.#lastSentClusters = new Map(resources.map((r) => [r.name, r]));
    const answered = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, answerTimeoutMs);
      timer.unref();
      state.answered = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#events.sent(this, typeUrl, version);
    this.#write({
      version_info: version,
      resources: resources.map((r) => this.#codec.any(r)),
      type_url: typeUrl,
      nonce,
    });
    return answered;
  }
}

function sameNames(
  a: ReadonlySet<string> | undefined,
  b: ReadonlySet<string> | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && [...a].every((name) => b.has(name));
}
