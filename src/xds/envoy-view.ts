import type { ResourceFacts, ResourceNeed } from '../envoy/resource-facts.ts';
import type { ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { VersionedResource } from './cache.ts';

/** The changes one response told Envoy to make: what it carried that differs, and removals. */
export interface SentChanges {
  readonly nonce: string;
  readonly updated: readonly VersionedResource[];
  readonly removed: readonly string[];
}

/** Undefined stands for "absent": a resource Envoy does not have. */
type State = VersionedResource | undefined;

/** What an Envoy may be running under one name. */
interface Running {
  /** What an ACK proved; undefined: absent. */
  proven: State;
  /**
   * States it may be in instead, without proof: from a response refused as
   * a whole (Envoy applies some resources of a response it refuses) or one
   * it never answered.
   */
  maybe: State[];
  /** It reported a version whose content this process does not know. */
  unknown: boolean;
}

export type FactsOf = (typeUrl: ResourceTypeUrl, resource: VersionedResource) => ResourceFacts;

function sameState(a: State, b: State): boolean {
  return a?.version === b?.version;
}

function addState(states: State[], state: State): void {
  if (!states.some((s) => sameState(s, state))) states.push(state);
}

/**
 * What one Envoy runs of one resource type, per name, as far as its answers
 * prove it. Conservative: a resource counts as present only when every
 * state Envoy may be in has it, and it is known exactly only after an ACK.
 */
export class TypeView {
  readonly #typeUrl: ResourceTypeUrl;
  readonly #running = new Map<string, Running>();
  /** The state last sent for a name and the response that carried it, until Envoy answers. */
  readonly #awaiting = new Map<string, { state: State; nonce: string }>();
  /**
   * The last version of each name this Envoy ACKed, kept when it restarts
   * (`forget`): what to give it back of a graph whose newer version it refused.
   */
  readonly #accepted = new Map<string, VersionedResource>();
  /** Names with a `maybe` or `unknown`: when none, everything sent was answered by an ACK. */
  readonly #doubtful = new Set<string>();
  /** Counts what a state Envoy may be in needs, as states come (1) and go (-1). */
  readonly #accounted: (resource: VersionedResource, delta: 1 | -1) => void;

  constructor(
    typeUrl: ResourceTypeUrl,
    accounted: (resource: VersionedResource, delta: 1 | -1) => void,
  ) {
    this.#typeUrl = typeUrl;
    this.#accounted = accounted;
  }

  get typeUrl(): ResourceTypeUrl {
    return this.#typeUrl;
  }

  /** Whether every name is known exactly or awaits the answer to a response in flight. */
  get settled(): boolean {
    return this.#doubtful.size === 0;
  }

  /** The resource versions Envoy may be running under a name. */
  possible(name: string): VersionedResource[] {
    const running = this.#running.get(name);
    const awaiting = this.#awaiting.get(name);
    const states: State[] = [running?.proven];
    for (const state of running?.maybe ?? []) addState(states, state);
    if (awaiting) addState(states, awaiting.state);
    return states.flatMap((state) => (state ? [state] : []));
  }

  /** Whether Envoy surely has the name, at whatever version. */
  present(name: string): boolean {
    const running = this.#running.get(name);
    const awaiting = this.#awaiting.get(name);
    return (
      running?.proven !== undefined &&
      !running.unknown &&
      running.maybe.every((state) => state !== undefined) &&
      (awaiting === undefined || awaiting.state !== undefined)
    );
  }

  /** Whether Envoy may have the name. */
  mayHave(name: string): boolean {
    const running = this.#running.get(name);
    if (running && (running.unknown || running.proven || running.maybe.some((s) => s))) return true;
    return this.#awaiting.get(name)?.state !== undefined;
  }

  /** The version Envoy surely runs under a name (undefined: surely absent), or "unknown". */
  exact(name: string): State | 'unknown' {
    const running = this.#running.get(name);
    if (this.#awaiting.has(name) || (running && (running.maybe.length > 0 || running.unknown))) {
      return 'unknown';
    }
    return running?.proven;
  }

  /** What an ACK proved Envoy runs under a name. */
  proven(name: string): VersionedResource | undefined {
    return this.#running.get(name)?.proven;
  }

  /** The last version of a name this Envoy ACKed, even before it restarted. */
  accepted(name: string): VersionedResource | undefined {
    return this.#accepted.get(name);
  }

  /** The state last sent for a name, while Envoy has not answered it. */
  awaiting(name: string): { readonly state: State } | undefined {
    return this.#awaiting.get(name);
  }

  /** Every name Envoy may have or was told to have or drop. */
  names(): Set<string> {
    return new Set([...this.#running.keys(), ...this.#awaiting.keys()]);
  }

  /** Every name Envoy ACKed a version of and did not see removed, before a restart too. */
  acceptedNames(): IterableIterator<string> {
    return this.#accepted.keys();
  }

  #count(state: State, delta: 1 | -1): void {
    if (state) this.#accounted(state, delta);
  }

  #entry(name: string): Running {
    let running = this.#running.get(name);
    if (!running) {
      running = { proven: undefined, maybe: [], unknown: false };
      this.#running.set(name, running);
    }
    return running;
  }

  /** Drops an entry that says nothing, and keeps the doubtful names up to date. */
  #tidy(name: string): void {
    const running = this.#running.get(name);
    if (running && running.proven === undefined && running.maybe.length === 0 && !running.unknown) {
      this.#running.delete(name);
    }
    if (running && (running.maybe.length > 0 || running.unknown)) this.#doubtful.add(name);
    else this.#doubtful.delete(name);
  }

  #setAwaiting(name: string, state: State, nonce: string): void {
    this.#count(this.#awaiting.get(name)?.state, -1);
    this.#awaiting.set(name, { state, nonce });
    this.#count(state, 1);
  }

  /** Stops awaiting the answer for a name, if `nonce` carried its latest state. */
  #answeredFor(name: string, nonce: string): boolean {
    const awaiting = this.#awaiting.get(name);
    if (awaiting?.nonce !== nonce) return false;
    this.#awaiting.delete(name);
    this.#count(awaiting.state, -1);
    return true;
  }

  #prove(name: string, state: State): void {
    const running = this.#entry(name);
    this.#count(running.proven, -1);
    for (const maybe of running.maybe) this.#count(maybe, -1);
    running.proven = state;
    running.maybe = [];
    running.unknown = false;
    this.#count(state, 1);
    if (state) this.#accepted.set(name, state);
    else this.#accepted.delete(name);
  }

  #doubt(name: string, state: State): void {
    const running = this.#entry(name);
    if (sameState(running.proven, state) || running.maybe.some((s) => sameState(s, state))) return;
    running.maybe.push(state);
    this.#count(state, 1);
  }

  /** A response is on its way to Envoy. */
  sent(changes: SentChanges): void {
    for (const resource of changes.updated) {
      this.#setAwaiting(resource.name, resource, changes.nonce);
    }
    for (const name of changes.removed) this.#setAwaiting(name, undefined, changes.nonce);
  }

  #items(changes: SentChanges): [string, State][] {
    return [
      ...changes.updated.map((r): [string, State] => [r.name, r]),
      ...changes.removed.map((name): [string, State] => [name, undefined]),
    ];
  }

  /**
   * Envoy answered a response. On an ACK it runs what the response said. On
   * a NACK it kept what it had for the names it `refused` (the resources it
   * named, or the one a response carried alone); any other resource of the
   * response it may or may not have applied.
   */
  answered(changes: SentChanges, acked: boolean, refused: ReadonlySet<string>): void {
    for (const [name, state] of this.#items(changes)) {
      this.#answeredFor(name, changes.nonce);
      if (acked) this.#prove(name, state);
      else if (!refused.has(name)) this.#doubt(name, state);
      this.#tidy(name);
    }
  }

  /**
   * Envoy refuses `version` of a name whatever response carries it: it never
   * applied it, not even from an earlier response refused as a whole.
   */
  refused(name: string, version: string): void {
    const running = this.#running.get(name);
    if (!running) return;
    for (const state of running.maybe) {
      if (state?.version === version) this.#count(state, -1);
    }
    running.maybe = running.maybe.filter((state) => state?.version !== version);
    this.#tidy(name);
  }

  /** A response that will never be answered on its own (superseded, or its stream ended). */
  unanswered(changes: SentChanges): void {
    for (const [name, state] of this.#items(changes)) {
      if (!this.#answeredFor(name, changes.nonce)) continue;
      this.#doubt(name, state);
      this.#tidy(name);
    }
  }

  /** Every response still unanswered: its stream ended. */
  abandon(): void {
    for (const [name, { state, nonce }] of [...this.#awaiting]) {
      this.#answeredFor(name, nonce);
      this.#doubt(name, state);
      this.#tidy(name);
    }
  }

  /** Envoy let go of a name (it unsubscribed): it runs nothing under it any more. */
  drop(name: string): void {
    this.#clear(name);
    this.#accepted.delete(name);
  }

  #clear(name: string): void {
    const awaiting = this.#awaiting.get(name);
    if (awaiting) this.#answeredFor(name, awaiting.nonce);
    const running = this.#running.get(name);
    if (running) {
      this.#count(running.proven, -1);
      for (const maybe of running.maybe) this.#count(maybe, -1);
      this.#running.delete(name);
    }
    this.#doubtful.delete(name);
  }

  /** Envoy says it has nothing of this type: a fresh Envoy (what it last ACKed is kept). */
  forget(): void {
    for (const name of this.names()) this.#clear(name);
  }

  /**
   * Envoy reports running `version` under a name (delta's initial versions):
   * proof of that state, if this process knows the version's content.
   */
  reported(name: string, version: string, known: VersionedResource | undefined): void {
    if (this.#running.get(name)?.proven?.version === version) return;
    const match =
      this.possible(name).find((r) => r.version === version) ??
      (known?.version === version ? known : undefined);
    if (match) {
      const running = this.#entry(name);
      const others = running.maybe.filter((state) => !sameState(state, match));
      this.#prove(name, match);
      for (const state of others) this.#doubt(name, state);
    } else {
      this.#entry(name).unknown = true;
    }
    this.#tidy(name);
  }
}

/**
 * What one Envoy runs, every type, and which resources the resources it may
 * run need: those must stay (make-before-break), whatever the cache says.
 */
export class EnvoyView {
  readonly #types = new Map<ResourceTypeUrl, TypeView>();
  /** Per type and name, how many states Envoy may be in need it. */
  readonly #needed = new Map<ResourceTypeUrl, Map<string, number>>();
  readonly #factsOf: FactsOf;

  constructor(factsOf: FactsOf) {
    this.#factsOf = factsOf;
  }

  type(typeUrl: ResourceTypeUrl): TypeView {
    let view = this.#types.get(typeUrl);
    if (!view) {
      view = new TypeView(typeUrl, (resource, delta) => {
        this.#account(typeUrl, resource, delta);
      });
      this.#types.set(typeUrl, view);
    }
    return view;
  }

  /** Counts per state Envoy may be in, so a version in two states counts twice: only > 0 matters. */
  #account(typeUrl: ResourceTypeUrl, resource: VersionedResource, delta: 1 | -1): void {
    for (const need of this.#factsOf(typeUrl, resource).needs) {
      let counts = this.#needed.get(need.typeUrl);
      if (!counts) {
        counts = new Map();
        this.#needed.set(need.typeUrl, counts);
      }
      const count = (counts.get(need.name) ?? 0) + delta;
      if (count > 0) counts.set(need.name, count);
      else counts.delete(need.name);
    }
  }

  /** Whether a resource Envoy may run needs this one. */
  isNeeded(typeUrl: ResourceTypeUrl, name: string): boolean {
    return this.#needed.get(typeUrl)?.has(name) === true;
  }

  /** Whether Envoy surely runs what `need` asks for. */
  meets(need: ResourceNeed): boolean {
    const view = this.type(need.typeUrl);
    if (!view.present(need.name)) return false;
    const value = need.value;
    if (value === undefined) return true;
    return view
      .possible(need.name)
      .every((r) => this.#factsOf(need.typeUrl, r).provides.includes(value));
  }

  /** Every response still unanswered: the stream ended. */
  abandon(): void {
    for (const view of this.#types.values()) view.abandon();
  }
}
