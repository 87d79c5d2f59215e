import {
  CLUSTER,
  ENDPOINT,
  EXECUTION_PLAN,
  LISTENER,
  SCOPED_ROUTE,
  pushOrder,
  type ResourceTypeUrl,
} from '../envoy/type-urls.ts';
import {
  showDigest,
  versionOf,
  type GroupSnapshot,
  type SnapshotCache,
  type TypeSnapshot,
  type VersionedResource,
} from './cache.ts';
import { EnvoyView, type SentChanges, type TypeView } from './envoy-view.ts';
import { graphResources, type GraphResource } from './graph-resources.ts';
import type { DiscoveryCodec } from './discovery-codec.ts';
import type { NodeMemory } from './node-memory.ts';
import { Rejections, namedInRefusal, type Rejection } from './rejections.ts';

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
  /** Resource versions this Envoy refused that the config still holds: they wait for a change. */
  readonly rejected: readonly Rejection[];
}

/** Why a graph is not what an Envoy runs, beyond "not there yet". */
export interface GraphProblem {
  readonly typeUrl: ResourceTypeUrl;
  readonly name: string;
  /** "rejected": Envoy refused this resource; "waiting": it needs one Envoy refused. */
  readonly kind: 'rejected' | 'waiting';
  readonly message: string;
}

/** One Envoy's view of the graphs its group serves. */
export interface GraphReport {
  /**
   * Whether the Envoy runs every resource of the graph's current version;
   * its clusters' endpoints in any version (they follow pods, not the graph).
   */
  programs(graph: string): boolean;
  problems(graph: string): readonly GraphProblem[];
}

/** What the server, and whoever listens to its events, see of one Envoy's stream. */
export interface EnvoyStream {
  readonly nodeId: string;
  readonly nodeCluster: string;
  /** An executor's stream takes only plans; it is no Envoy of its group (status, readiness). */
  readonly client: 'envoy' | 'executor';
  readonly protocol: 'sotw' | 'delta';
  status(): StreamStatus;
  graphReport(): GraphReport;
  /** The cache changed: bring this Envoy up to date. */
  changed(): void;
  close(): void;
}

export interface StreamEvents {
  /** A bug of ours broke this stream's push; Envoy keeps what it has. */
  failed(stream: EnvoyStream, error: Error): void;
  sent(stream: EnvoyStream, typeUrl: string, version: string): void;
  ack(stream: EnvoyStream, typeUrl: string, version: string): void;
  /**
   * `rejected`: the resource versions the refusal was pinned on. Empty when
   * nothing could be: the response's resources are then sent apart.
   */
  nack(
    stream: EnvoyStream,
    typeUrl: string,
    version: string,
    message: string,
    rejected: readonly Rejection[],
  ): void;
}

/** What a response of either protocol is written from. */
export interface OutgoingResponse {
  readonly nonce: string;
  readonly version: string;
  /** What it carries: the whole state for SotW's wildcard types, else what is new. */
  readonly carried: readonly VersionedResource[];
  /** Names it removes; only delta can say so (SotW leaves them out of a whole response). */
  readonly removed: readonly string[];
}

/** One response as written, with what Envoy's answer will be read against. */
interface Push extends SentChanges, OutgoingResponse {
  /** It carries one group of resources being sent apart to find the one Envoy refuses. */
  readonly isolating: boolean;
}

/** The sum of digests of what a stream told Envoy to have, kept as resources come and go. */
class Intended {
  readonly #digests = new Map<string, bigint>();
  #sum = 0n;

  constructor(resources: readonly VersionedResource[] = []) {
    for (const resource of resources) {
      this.#digests.set(resource.name, resource.digest);
      this.#sum += resource.digest;
    }
  }

  get version(): string {
    return showDigest(this.#sum);
  }

  set(resource: VersionedResource): void {
    this.delete(resource.name);
    this.#digests.set(resource.name, resource.digest);
    this.#sum += resource.digest;
  }

  delete(name: string): void {
    const digest = this.#digests.get(name);
    if (digest === undefined) return;
    this.#sum -= digest;
    this.#digests.delete(name);
  }
}

export interface TypeState {
  /** Names Envoy asked for; undefined means every resource (LDS and CDS are always wildcard). */
  names: Set<string> | undefined;
  /** Responses Envoy has not answered yet, in the order sent, by nonce. */
  readonly unanswered: Map<string, Push>;
  lastSent: Push | undefined;
  acked: string | undefined;
  nack: { version: string; message: string; at: string } | undefined;
  /**
   * The type snapshot this type was last brought up to date with, when
   * what was sent was exactly that snapshot: while the cache hands out the
   * same object there is nothing to send, and no need to look through every
   * resource to know it.
   */
  basis: TypeSnapshot | undefined;
  /** Groups of resources of a refused response, sent one at a time to tell which Envoy refuses. */
  readonly isolation: VersionedResource[][];
  /** A response Envoy refused that nothing could be pinned on: it is not sent again as it was. */
  refused: string | undefined;
  /** Names to send even if Envoy has them as they are: a changed cluster's endpoints. */
  readonly resend: Set<string>;
  intended: Intended;
  waiting: { readonly nonce: number; readonly resolve: (answered: boolean) => void } | undefined;
}

/** What to send of a type, before it is written. */
interface Plan {
  readonly carried: readonly VersionedResource[];
  readonly updated: readonly VersionedResource[];
  readonly removed: readonly string[];
  /** Whether anything in it is not already on its way to Envoy. */
  readonly news: boolean;
  readonly isolating: boolean;
  /** Set when the plan is the cache's type snapshot exactly. */
  readonly basis: TypeSnapshot | undefined;
}

/**
 * Types Envoy subscribes to as a whole; it names the route tables and
 * endpoints it wants. An executor takes its group's plans as a whole.
 */
export const wildcardTypes: ReadonlySet<string> = new Set([
  LISTENER,
  CLUSTER,
  SCOPED_ROUTE,
  EXECUTION_PLAN,
]);
/** How long to wait for Envoy to answer one response before going on without it. */
const answerTimeoutMs = 10_000;
/** Responses of one type per pass at most; more wait for the next pass. */
const maxRoundsPerPass = 256;

export function isPushedType(typeUrl: string): typeUrl is ResourceTypeUrl {
  return (pushOrder as readonly string[]).includes(typeUrl);
}

function signatureOf(updated: readonly VersionedResource[], removed: readonly string[]): string {
  return `${versionOf(updated)} ${removed.join(' ')}`;
}

/**
 * What both xDS variants share: one Envoy's stream, what that Envoy runs
 * (its answers prove it: an `EnvoyView`), and the order of pushes.
 *
 * Make-before-break: clusters, endpoints, listeners, filter configs (ECDS),
 * route scopes, route tables, each after Envoy answered the one before;
 * then the clusters nothing Envoy may run needs any more are dropped. A
 * resource goes out only once what it needs is surely in Envoy (a route
 * table's clusters, the body values its matches read), and a resource that
 * something Envoy may run needs stays.
 *
 * A NACK pins the refusal on resource versions: the ones Envoy names
 * (clusters, listeners), or the one a response carried alone; a response
 * of several that names none is sent again in halves, a graph's resources
 * together, until each refusal is pinned on one. A refused version is never
 * sent to that Envoy again; its name keeps the version Envoy last ACKed,
 * and every resource of the graphs it carries stays as Envoy runs it, until
 * the config changes that resource.
 */
export abstract class XdsStream<Response> implements EnvoyStream {
  readonly connectedSince = new Date();
  nodeId = '';
  nodeCluster = '';
  client: 'envoy' | 'executor' = 'envoy';
  protected readonly types = new Map<ResourceTypeUrl, TypeState>();
  protected readonly cache: SnapshotCache;
  protected readonly codec: DiscoveryCodec;
  protected readonly events: StreamEvents;
  readonly #write: (response: Response) => void;
  protected closed = false;
  readonly #memory: NodeMemory | undefined;
  /** The group a client certificate entitles the Envoy to; node.cluster is then only a claim. */
  readonly #certifiedGroup: string | undefined;
  #view: EnvoyView;
  #rejections = new Rejections();
  #nonce = 0;
  #syncing = false;
  #dirty = false;
  #held:
    | {
        snapshot: GroupSnapshot;
        rejections: Rejections;
        revision: number;
        graphs: ReadonlySet<string>;
      }
    | undefined;

  constructor(
    cache: SnapshotCache,
    codec: DiscoveryCodec,
    write: (response: Response) => void,
    events: StreamEvents,
    memory?: NodeMemory,
    certifiedGroup?: string,
  ) {
    this.cache = cache;
    this.codec = codec;
    this.#write = write;
    this.events = events;
    this.#memory = memory;
    this.#certifiedGroup = certifiedGroup;
    this.#view = new EnvoyView((typeUrl, resource) => this.cache.factsOf(typeUrl, resource));
  }

  abstract readonly protocol: 'sotw' | 'delta';

  /** Whether a response of this type carries every resource Envoy is to have. */
  protected abstract carriesWhole(typeUrl: ResourceTypeUrl, first: boolean): boolean;

  /**
   * Whether a response removes what it does not carry: what Envoy has of a
   * type, at once, that it no longer is to have. Delta names removals; SotW
   * leaves them out of a whole response, which route responses are not
   * (Envoy lets go of a table by unsubscribing).
   */
  protected abstract removes(typeUrl: ResourceTypeUrl): boolean;

  /**
   * Whether the first request for a type is answered even with nothing to
   * say (SotW), or only when the Envoy has nothing of the type yet (delta,
   * whose Envoy says on reconnect what it has).
   */
  protected abstract readonly answersEveryFirstRequest: boolean;

  /** The protocol's message for a response. */
  protected abstract format(typeUrl: ResourceTypeUrl, response: OutgoingResponse): Response;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.types.values()) this.#stopWaiting(state, false);
    this.#view.abandon();
    if (this.nodeId !== '') this.#memory?.detach(this.#memoryKey(), this.#view);
  }

  /** The cache changed: bring this Envoy up to date. */
  changed(): void {
    void this.sync();
  }

  status(): StreamStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, state] of this.types) {
      types[typeUrl] = {
        ...(state.lastSent && { sentVersion: state.lastSent.version }),
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
      rejected: this.#rejections.inForce(this.cache.snapshotFor(this.nodeCluster)),
    };
  }

  /** What this Envoy runs of each graph of its group's current config. */
  graphReport(): GraphReport {
    const snapshot = this.cache.snapshotFor(this.nodeCluster);
    const byGraph = snapshot
      ? graphResources(snapshot, (typeUrl, r) => this.cache.factsOf(typeUrl, r))
      : new Map<string, readonly GraphResource[]>();
    const rejected = this.#rejections.inForce(snapshot);
    const runs = ({ typeUrl, resource }: GraphResource) => {
      const now = this.#view.type(typeUrl).exact(resource.name);
      return now !== 'unknown' && now?.version === resource.version;
    };
    // Endpoints follow pods, not the graph: a cluster has its endpoints once it has any version.
    const hasAny = ({ typeUrl, resource }: GraphResource) => {
      const now = this.#view.type(typeUrl).exact(resource.name);
      return now !== 'unknown' && now !== undefined;
    };
    return {
      programs: (graph) => {
        const resources = byGraph.get(graph);
        return (
          resources !== undefined &&
          resources.every((resource) =>
            resource.typeUrl === ENDPOINT ? hasAny(resource) : runs(resource),
          )
        );
      },
      problems: (graph) => {
        const problems: GraphProblem[] = rejected
          .filter((r) => r.graphs.includes(graph))
          .map((r) => ({ typeUrl: r.typeUrl, name: r.name, kind: 'rejected', message: r.message }));
        for (const resource of byGraph.get(graph) ?? []) {
          if (runs(resource)) continue;
          const waitsFor = new Set<Rejection>();
          for (const need of this.cache.factsOf(resource.typeUrl, resource.resource).needs) {
            const refusal = rejected.find(
              (r) => r.typeUrl === need.typeUrl && r.name === need.name,
            );
            if (refusal && !refusal.graphs.includes(graph)) waitsFor.add(refusal);
          }
          for (const refusal of waitsFor) {
            problems.push({
              typeUrl: resource.typeUrl,
              name: resource.resource.name,
              kind: 'waiting',
              message: `needs ${refusal.name}, which Envoy rejected: ${refusal.message}`,
            });
          }
        }
        return problems;
      },
    };
  }

  #identify(node: { id?: string; cluster?: string } | undefined): void {
    if (this.nodeId !== '' || !node) return;
    this.nodeId = node.id ?? '';
    this.nodeCluster = this.#certifiedGroup ?? node.cluster ?? '';
    if (this.nodeId === '' || !this.#memory) return;
    const { rejections, view } = this.#memory.attach(this.#memoryKey());
    this.#rejections = rejections;
    if (view) this.#view = view;
  }

  /**
   * Node ids are the Envoys' own claims, so a node is remembered per group:
   * under mutual TLS, where the certificate names the group, an Envoy of one
   * group cannot claim another group's node id to make refusals in its name
   * (and so hold config back from it).
   */
  #memoryKey(): string {
    return `${this.nodeCluster}\n${this.nodeId}`;
  }

  /**
   * One request of either protocol. `reported` is what Envoy says it has of
   * the type when it first asks for it on this stream (delta's initial
   * versions; for SotW only whether it has anything); `subscribe` applies
   * its subscription and says whether it changed.
   */
  protected request(
    node: { id?: string; cluster?: string } | undefined,
    typeUrl: string,
    answer: { nonce: string; error: { code?: number; message?: string } | null | undefined },
    reported: { empty: boolean; versions?: Readonly<Record<string, string>> },
    subscribe: (state: TypeState, view: TypeView) => boolean,
  ): void {
    if (this.nodeId === '' && typeUrl === EXECUTION_PLAN) this.client = 'executor';
    this.#identify(node);
    if (!isPushedType(typeUrl)) return;
    let state = this.types.get(typeUrl);
    const first = state === undefined;
    if (!state) {
      state = {
        names: undefined,
        unanswered: new Map(),
        lastSent: undefined,
        acked: undefined,
        nack: undefined,
        basis: undefined,
        isolation: [],
        refused: undefined,
        resend: new Set(),
        intended: new Intended(),
        waiting: undefined,
      };
      this.types.set(typeUrl, state);
      this.#reported(typeUrl, reported);
    }
    if (answer.nonce !== '') this.#answer(typeUrl, state, answer.nonce, answer.error);
    const changed = subscribe(state, this.#view.type(typeUrl));
    if (changed) state.basis = undefined;
    if (typeUrl === ENDPOINT && changed) {
      // Warming clusters wait for these: answer at once, whatever else is in flight.
      const snapshot = this.cache.snapshotFor(this.nodeCluster);
      if (snapshot) this.#push(ENDPOINT, snapshot);
    } else if (first || changed) {
      void this.sync();
    }
  }

  /** Envoy let go of a name it had asked for: it runs nothing under it any more. */
  protected unsubscribed(state: TypeState, view: TypeView, name: string): void {
    view.drop(name);
    state.intended.delete(name);
  }

  #reported(
    typeUrl: ResourceTypeUrl,
    reported: { empty: boolean; versions?: Readonly<Record<string, string>> },
  ): void {
    const view = this.#view.type(typeUrl);
    if (reported.empty) {
      view.forget();
      return;
    }
    const known = this.cache.snapshotFor(this.nodeCluster)?.get(typeUrl)?.resources;
    for (const [name, version] of Object.entries(reported.versions ?? {})) {
      view.reported(name, version, known?.get(name));
    }
  }

  /** Envoy answered a response of ours; answers to ones it skipped mean it never will. */
  #answer(
    typeUrl: ResourceTypeUrl,
    state: TypeState,
    nonce: string,
    error: { code?: number; message?: string } | null | undefined,
  ): void {
    const push = state.unanswered.get(nonce);
    if (!push) return;
    const view = this.#view.type(typeUrl);
    for (const [older, skipped] of state.unanswered) {
      if (older === nonce) break;
      view.unanswered(skipped);
      state.unanswered.delete(older);
    }
    state.unanswered.delete(nonce);
    const message = error?.message ?? '';
    const failed = message !== '' || (error?.code ?? 0) !== 0;
    if (failed) {
      this.#refused(typeUrl, state, push, message);
    } else {
      view.answered(push, true, new Set());
      state.acked = push.version;
      state.refused = undefined;
      if (push.isolating) state.isolation.shift();
      this.events.ack(this, typeUrl, push.version);
    }
    const waiting = state.waiting;
    if (waiting && Number(nonce) >= waiting.nonce) {
      this.#stopWaiting(state, true);
    } else if (!waiting && (failed || typeUrl !== ENDPOINT)) {
      // A late answer may let a waiting push go, or call for a resend.
      this.changed();
    }
  }

  /** Pins a NACK on resource versions, or sets the response's resources apart to find them. */
  #refused(typeUrl: ResourceTypeUrl, state: TypeState, push: Push, message: string): void {
    // Whatever the response carried may be named, changed or not (what Envoy refuses can
    // depend on more than the resource); nothing named, a resource alone is the one.
    const named = new Set(
      namedInRefusal(
        typeUrl,
        message,
        push.carried.map((r) => r.name),
      ),
    );
    const refused =
      named.size > 0
        ? push.carried.filter((r) => named.has(r.name))
        : push.updated.length === 1
          ? push.updated
          : [];
    if (push.isolating) state.isolation.shift();
    if (refused.length === 0) {
      if (push.updated.length > 1) state.isolation.unshift(...this.#halves(typeUrl, push.updated));
      else state.refused = signatureOf(push.updated, push.removed);
    }
    const at = new Date().toISOString();
    const rejections = refused.map((r) => ({
      typeUrl,
      name: r.name,
      version: r.version,
      graphs: this.cache.factsOf(typeUrl, r).graphs,
      message,
      at,
    }));
    const view = this.#view.type(typeUrl);
    view.answered(push, false, new Set(refused.map((r) => r.name)));
    for (const rejection of rejections) {
      this.#rejections.add(rejection);
      view.refused(rejection.name, rejection.version);
    }
    state.nack = { version: push.version, message, at };
    this.events.nack(this, typeUrl, push.version, message, rejections);
  }

  /** Two halves of a refused response: whole graphs apart when it carried several. */
  #halves(
    typeUrl: ResourceTypeUrl,
    resources: readonly VersionedResource[],
  ): VersionedResource[][] {
    const byGraphs = new Map<string, VersionedResource[]>();
    for (const resource of resources) {
      const key = this.cache.factsOf(typeUrl, resource).graphs.join(' ');
      const group = byGraphs.get(key);
      if (group) group.push(resource);
      else byGraphs.set(key, [resource]);
    }
    const groups = [...byGraphs.values()];
    if (groups.length > 1) {
      const half = Math.ceil(groups.length / 2);
      return [groups.slice(0, half).flat(), groups.slice(half).flat()];
    }
    const half = Math.ceil(resources.length / 2);
    return [resources.slice(0, half), resources.slice(half)];
  }

  #stopWaiting(state: TypeState, answered: boolean): void {
    const waiting = state.waiting;
    state.waiting = undefined;
    waiting?.resolve(answered);
  }

  /** Resolves true when Envoy answered `push` (or a later response), false after the timeout. */
  #answerOf(state: TypeState, push: Push): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#stopWaiting(state, false);
      }, answerTimeoutMs);
      timer.unref();
      state.waiting = {
        nonce: Number(push.nonce),
        resolve: (answered) => {
          clearTimeout(timer);
          resolve(answered);
        },
      };
    });
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
    // Clusters nothing Envoy runs needs any more go once the routes moved on.
    const order: readonly ResourceTypeUrl[] = [...pushOrder, CLUSTER];
    for (const typeUrl of order) {
      if (this.closed) return;
      await this.#settle(typeUrl, snapshot);
    }
  }

  /** Sends what Envoy lacks of a type, and again after each answer, until it has it all. */
  async #settle(typeUrl: ResourceTypeUrl, snapshot: GroupSnapshot): Promise<void> {
    for (let round = 0; round < maxRoundsPerPass; round++) {
      if (this.closed) return;
      const push = this.#push(typeUrl, snapshot);
      if (!push) return;
      if (typeUrl === CLUSTER) {
        this.#resendAlongside(push);
        // Not awaited: Envoy's EDS answer gates nothing here.
        this.#push(ENDPOINT, snapshot);
      }
      const state = this.types.get(typeUrl);
      if (!state || !(await this.#answerOf(state, push))) return;
    }
    this.#dirty = true;
  }

  /** Envoy keeps a changed cluster warming until it gets its endpoints again, changed or not. */
  #resendAlongside(push: Push): void {
    const endpoints = this.types.get(ENDPOINT);
    if (!endpoints) return;
    for (const cluster of push.updated) {
      for (const need of this.cache.factsOf(CLUSTER, cluster).needs) {
        if (need.typeUrl === ENDPOINT) endpoints.resend.add(need.name);
      }
    }
  }

  /** Writes what Envoy lacks of one type, if it asked for that type; returns the response. */
  #push(typeUrl: ResourceTypeUrl, snapshot: GroupSnapshot): Push | undefined {
    const state = this.types.get(typeUrl);
    if (!state) return undefined;
    const type = snapshot.get(typeUrl);
    const view = this.#view.type(typeUrl);
    const first = state.lastSent === undefined;
    if (
      !first &&
      state.basis !== undefined &&
      state.basis === type &&
      state.resend.size === 0 &&
      state.isolation.length === 0 &&
      view.settled
    ) {
      return undefined;
    }
    const plan = this.#plan(typeUrl, state, snapshot, view, first);
    state.resend.clear();
    state.basis = plan.basis;
    // A fresh Envoy's listener waits for a first answer, so that one goes out even empty (no
    // graphs, no scopes); an Envoy that already has resources needs none.
    const answerAnyway = first && (this.answersEveryFirstRequest || view.names().size === 0);
    if (!plan.news && !answerAnyway) return undefined;
    if (state.refused !== undefined && state.refused === signatureOf(plan.updated, plan.removed)) {
      return undefined;
    }
    let version: string;
    if (this.carriesWhole(typeUrl, first)) {
      // A whole response says all there is: its version is its own, and what comes after
      // is versioned from it.
      version = versionOf(plan.carried);
      state.intended = new Intended(plan.carried);
    } else {
      for (const resource of plan.updated) state.intended.set(resource);
      for (const name of plan.removed) state.intended.delete(name);
      version = state.intended.version;
    }
    this.#nonce += 1;
    const push = {
      nonce: String(this.#nonce),
      version,
      carried: plan.carried,
      updated: plan.updated,
      removed: plan.removed,
      isolating: plan.isolating,
    };
    state.unanswered.set(push.nonce, push);
    state.lastSent = push;
    view.sent(push);
    this.#write(this.format(typeUrl, push));
    this.events.sent(this, typeUrl, version);
    return push;
  }

  #plan(
    typeUrl: ResourceTypeUrl,
    state: TypeState,
    snapshot: GroupSnapshot,
    view: TypeView,
    first: boolean,
  ): Plan {
    const whole = this.carriesWhole(typeUrl, first);
    const isolating = this.#isolationPlan(typeUrl, state, snapshot, view, whole);
    if (isolating) return isolating;
    const type = snapshot.get(typeUrl);
    const step = whole ? undefined : this.#step(typeUrl, state, snapshot, type, view);
    if (step) return step;
    const { resources, exact } = this.#target(typeUrl, state, snapshot);
    const updated: VersionedResource[] = [];
    let news = false;
    for (const resource of resources.values()) {
      const resend = state.resend.has(resource.name);
      const now = view.exact(resource.name);
      if (!resend && now !== 'unknown' && now?.version === resource.version) continue;
      const onItsWay = view.awaiting(resource.name)?.state?.version === resource.version;
      if (whole || resend || !onItsWay) updated.push(resource);
      if (resend || !onItsWay) news = true;
    }
    const removed: string[] = [];
    if (this.removes(typeUrl)) {
      for (const name of view.names()) {
        if (resources.has(name) || !view.mayHave(name)) continue;
        const awaiting = view.awaiting(name);
        const removalOnItsWay = awaiting !== undefined && awaiting.state === undefined;
        if (whole || !removalOnItsWay) removed.push(name);
        if (!removalOnItsWay) news = true;
      }
    }
    return {
      carried: whole ? [...resources.values()] : updated,
      updated,
      removed,
      news,
      isolating: false,
      basis: exact ? type : undefined,
    };
  }

  /**
   * What changed since the type snapshot this type was last brought up to
   * date with, when the cache knows it and every change may go as it is:
   * then a response costs what changed, not every resource of the type.
   */
  #step(
    typeUrl: ResourceTypeUrl,
    state: TypeState,
    snapshot: GroupSnapshot,
    type: TypeSnapshot | undefined,
    view: TypeView,
  ): Plan | undefined {
    const delta = type?.delta;
    if (
      !delta ||
      state.basis === undefined ||
      delta.from.deref() !== state.basis ||
      state.resend.size > 0 ||
      !view.settled
    ) {
      return undefined;
    }
    const held = this.#heldGraphs(snapshot);
    const wanted = (name: string) => state.names === undefined || state.names.has(name);
    const updated: VersionedResource[] = [];
    for (const resource of delta.updated) {
      if (!wanted(resource.name)) continue;
      if (!this.#usable(typeUrl, resource, held)) return undefined;
      const now = view.exact(resource.name);
      if (now !== 'unknown' && now?.version === resource.version) continue;
      if (view.awaiting(resource.name)?.state?.version === resource.version) continue;
      updated.push(resource);
    }
    const removed: string[] = [];
    for (const name of delta.removed) {
      if (!view.mayHave(name)) continue;
      if (this.#view.isNeeded(typeUrl, name)) return undefined;
      const awaiting = view.awaiting(name);
      if (awaiting !== undefined && awaiting.state === undefined) continue;
      removed.push(name);
    }
    const removes = this.removes(typeUrl);
    return {
      carried: updated,
      updated,
      removed: removes ? removed : [],
      news: updated.length > 0 || (removes && removed.length > 0),
      isolating: false,
      basis: type,
    };
  }

  /**
   * The next group of a refused response's resources to send on their own.
   * Everything else stays as Envoy surely runs it until the groups are done.
   */
  #isolationPlan(
    typeUrl: ResourceTypeUrl,
    state: TypeState,
    snapshot: GroupSnapshot,
    view: TypeView,
    whole: boolean,
  ): Plan | undefined {
    const current = snapshot.get(typeUrl)?.resources;
    for (;;) {
      const group = state.isolation[0];
      if (!group) return undefined;
      // Members the config has changed since are no longer in question.
      const members = group.filter(
        (r) =>
          current?.get(r.name)?.version === r.version &&
          !this.#rejections.has(typeUrl, r.name, r.version),
      );
      if (members.length === 0) {
        state.isolation.shift();
        continue;
      }
      state.isolation[0] = members;
      const carried = new Map<string, VersionedResource>();
      if (whole) {
        for (const name of view.names()) {
          const proven = view.proven(name);
          if (proven) carried.set(name, proven);
        }
      }
      for (const member of members) carried.set(member.name, member);
      const updated = [...carried.values()].filter((r) => {
        const now = view.exact(r.name);
        return now === 'unknown' || now?.version !== r.version;
      });
      const removed =
        whole && this.removes(typeUrl)
          ? [...view.names()].filter((name) => !carried.has(name) && view.mayHave(name))
          : [];
      return {
        carried: whole ? [...carried.values()] : updated,
        updated,
        removed,
        news: true,
        isolating: true,
        basis: undefined,
      };
    }
  }

  /**
   * What Envoy is to have of a type: the cache's resources it asked for,
   * except those that may not go yet (refused, of a held graph, or needing
   * what Envoy does not surely run), which stay as Envoy runs them; and what
   * Envoy may still need although the cache dropped it. `exact` when that
   * is the cache's snapshot as it is.
   */
  #target(
    typeUrl: ResourceTypeUrl,
    state: TypeState,
    snapshot: GroupSnapshot,
  ): { resources: Map<string, VersionedResource>; exact: boolean } {
    const view = this.#view.type(typeUrl);
    const held = this.#heldGraphs(snapshot);
    const available = snapshot.get(typeUrl)?.resources ?? new Map<string, VersionedResource>();
    const wanted = (name: string) => state.names === undefined || state.names.has(name);
    const resources = new Map<string, VersionedResource>();
    let exact = true;
    for (const resource of available.values()) {
      if (!wanted(resource.name)) continue;
      const refused =
        this.#rejections.has(typeUrl, resource.name, resource.version) ||
        this.#ofHeldGraphs(typeUrl, resource, held);
      if (!refused && this.#ready(typeUrl, resource)) {
        resources.set(resource.name, resource);
        continue;
      }
      exact = false;
      // A refused version leaves the previous one serving; one that waits leaves what runs.
      const kept = this.#fallback(typeUrl, view, resource.name, refused);
      if (kept) resources.set(resource.name, kept);
    }
    for (const name of new Set([...view.names(), ...view.acceptedNames()])) {
      if (available.has(name) || !wanted(name)) continue;
      const kept = this.#fallback(typeUrl, view, name, true);
      if (!kept) continue;
      const ofHeldGraph = this.#ofHeldGraphs(typeUrl, kept, held);
      if (ofHeldGraph || this.#view.isNeeded(typeUrl, name)) {
        resources.set(name, kept);
        exact = false;
      }
    }
    return { resources, exact };
  }

  /** Whether a resource of the cache may go to Envoy now. */
  #usable(
    typeUrl: ResourceTypeUrl,
    resource: VersionedResource,
    held: ReadonlySet<string>,
  ): boolean {
    return (
      !this.#rejections.has(typeUrl, resource.name, resource.version) &&
      !this.#ofHeldGraphs(typeUrl, resource, held) &&
      this.#ready(typeUrl, resource)
    );
  }

  /** Whether Envoy surely runs what a resource needs before it. */
  #ready(typeUrl: ResourceTypeUrl, resource: VersionedResource): boolean {
    return this.cache
      .factsOf(typeUrl, resource)
      .needs.every((need) => need.order === 'alongside' || this.#view.meets(need));
  }

  #ofHeldGraphs(
    typeUrl: ResourceTypeUrl,
    resource: VersionedResource,
    held: ReadonlySet<string>,
  ): boolean {
    if (held.size === 0) return false;
    const graphs = this.cache.factsOf(typeUrl, resource).graphs;
    return graphs.length > 0 && graphs.every((graph) => held.has(graph));
  }

  /**
   * What a name stays at when the cache's version may not go: what Envoy
   * surely runs. Else, to `restore` a previous version (the cache's was
   * refused, or Envoy may still need the name), the version it last ACKed
   * (before a restart too) or one it may run: one not refused, whose own
   * needs Envoy runs.
   */
  #fallback(
    typeUrl: ResourceTypeUrl,
    view: TypeView,
    name: string,
    restore: boolean,
  ): VersionedResource | undefined {
    const now = view.exact(name);
    if (now !== 'unknown' && now !== undefined) return now;
    const candidates = restore
      ? [view.proven(name), view.accepted(name), ...view.possible(name).reverse()]
      : [view.proven(name)];
    return candidates.find(
      (r): r is VersionedResource =>
        r !== undefined &&
        !this.#rejections.has(typeUrl, name, r.version) &&
        this.#ready(typeUrl, r),
    );
  }

  /**
   * Graphs with a resource version Envoy refused that the config still
   * holds: each keeps what Envoy runs of it until that resource changes.
   */
  #heldGraphs(snapshot: GroupSnapshot): ReadonlySet<string> {
    const rejections = this.#rejections;
    const revision = rejections.revision;
    const cached = this.#held;
    if (
      cached?.snapshot === snapshot &&
      cached.rejections === rejections &&
      cached.revision === revision
    ) {
      return cached.graphs;
    }
    const graphs = new Set(rejections.inForce(snapshot).flatMap((r) => r.graphs));
    this.#held = { snapshot, rejections, revision, graphs };
    return graphs;
  }
}

export function sameNames(
  a: ReadonlySet<string> | undefined,
  b: ReadonlySet<string> | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && [...a].every((name) => b.has(name));
}
