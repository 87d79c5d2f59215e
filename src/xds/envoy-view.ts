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
  #doubtful = 0;
  readonly #accounted: (
    before: readonly VersionedResource[],
    after: readonly VersionedResource[],
  ) => void;

  constructor(
    typeUrl: ResourceTypeUrl,
    accounted: (before: readonly VersionedResource[], after: readonly VersionedResource[]) => void,
  ) {
    this.#typeUrl = typeUrl;
    this.#accounted = accounted;
  }

  get typeUrl(): ResourceTypeUrl {
    return this.#typeUrl;
  }

  /** Whether every name is known exactly or awaits the answer to a response in flight. */
  get settled(): boolean {
    return this.#doubtful === 0;
  }

  /** The states Envoy may be in under a name. */
  #states(name: string): State[] {
    const running = this.#running.get(name);
    const states: State[] = [running?.proven];
    for (const state of running?.maybe ?? []) addState(states, state);
    const awaiting = this.#awaiting.get(name);
    if (awaiting) addState(states, awaiting.state);
    return states;
  }

  /** The resource versions Envoy may be running under a name. */
  possible(name: string): VersionedResource[] {
    return this.#states(name).flatMap((state) => (state ? [state] : []));
  }

  /** Whether Envoy surely has the name, at whatever version. */
  present(name: string): boolean {
    if (this.#running.get(name)?.unknown === true) return false;
    return this.#states(name).every((state) => state !== undefined);
  }

  /** Whether Envoy may have the name. */
  mayHave(name: string): boolean {
    return this.#running.get(name)?.unknown === true || this.possible(name).length > 0;
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

  /** Runs `change` on a name and accounts for the needs of the versions it adds or drops. */
  #change(name: string, change: () => void): void {
    const before = this.possible(name);
    const wasDoubtful = this.#isDoubtful(name);
    change();
    const running = this.#running.get(name);
    if (running && running.proven === undefined && running.maybe.length === 0 && !running.unknown) {
      this.#running.delete(name);
    }
    this.#doubtful += Number(this.#isDoubtful(name)) - Number(wasDoubtful);
    const after = this.possible(name);
    if (before.length !== after.length || before.some((r, i) => !sameState(r, after[i]))) {
      this.#accounted(before, after);
    }
  }

  #isDoubtful(name: string): boolean {
    const running = this.#running.get(name);
    return running !== undefined && (running.maybe.length > 0 || running.unknown);
  }

  #entry(name: string): Running {
    let running = this.#running.get(name);
    if (!running) {
      running = { proven: undefined, maybe: [], unknown: false };
      this.#running.set(name, running);
    }
    return running;
  }

  /** A response is on its way to Envoy. */
  sent(changes: SentChanges): void {
    for (const resource of changes.updated) {
      this.#change(resource.name, () => {
        this.#awaiting.set(resource.name, { state: resource, nonce: changes.nonce });
      });
    }
    for (const name of changes.removed) {
      this.#change(name, () => {
        this.#awaiting.set(name, { state: undefined, nonce: changes.nonce });
      });
    }
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
      this.#change(name, () => {
        if (this.#awaiting.get(name)?.nonce === changes.nonce) this.#awaiting.delete(name);
        if (acked) {
          if (state) this.#accepted.set(name, state);
          else this.#accepted.delete(name);
          const running = this.#entry(name);
          running.proven = state;
          running.maybe = [];
          running.unknown = false;
        } else if (!refused.has(name)) {
          const running = this.#entry(name);
          if (!sameState(running.proven, state)) addState(running.maybe, state);
        }
      });
    }
  }

  /**
   * Envoy refuses `version` of a name whatever response carries it: it never
   * applied it, not even from an earlier response refused as a whole.
   */
  refused(name: string, version: string): void {
    const running = this.#running.get(name);
    if (!running?.maybe.some((state) => state?.version === version)) return;
    this.#change(name, () => {
      running.maybe = running.maybe.filter((state) => state?.version !== version);
    });
  }

  /** A response that will never be answered on its own (superseded, or its stream ended). */
  unanswered(changes: SentChanges): void {
    for (const [name, state] of this.#items(changes)) {
      if (this.#awaiting.get(name)?.nonce !== changes.nonce) continue;
      this.#change(name, () => {
        this.#awaiting.delete(name);
        const running = this.#entry(name);
        if (!sameState(running.proven, state)) addState(running.maybe, state);
      });
    }
  }

  /** Every response still unanswered: its stream ended. */
  abandon(): void {
    for (const [name, { state }] of [...this.#awaiting]) {
      this.#change(name, () => {
        this.#awaiting.delete(name);
        const running = this.#entry(name);
        if (!sameState(running.proven, state)) addState(running.maybe, state);
      });
    }
  }

  /** Envoy let go of a name (it unsubscribed): it runs nothing under it any more. */
  drop(name: string): void {
    this.#clear(name);
    this.#accepted.delete(name);
  }

  #clear(name: string): void {
    this.#change(name, () => {
      this.#running.delete(name);
      this.#awaiting.delete(name);
    });
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
    this.#change(name, () => {
      const running = this.#entry(name);
      const match =
        this.possible(name).find((r) => r.version === version) ??
        (known?.version === version ? known : undefined);
      if (running.proven?.version === version) return;
      if (match) {
        this.#accepted.set(name, match);
        running.proven = match;
        running.maybe = running.maybe.filter((state) => !sameState(state, match));
        running.unknown = false;
      } else {
        running.unknown = true;
      }
    });
  }
}

function needKey(typeUrl: string, name: string): string {
  return `${typeUrl} ${name}`;
}

/**
 * What one Envoy runs, every type, and which resources the resources it may
 * run need: those must stay (make-before-break), whatever the cache says.
 */
export class EnvoyView {
  readonly #types = new Map<ResourceTypeUrl, TypeView>();
  readonly #needed = new Map<string, number>();
  readonly #factsOf: FactsOf;

  constructor(factsOf: FactsOf) {
    this.#factsOf = factsOf;
  }

  type(typeUrl: ResourceTypeUrl): TypeView {
    let view = this.#types.get(typeUrl);
    if (!view) {
      view = new TypeView(typeUrl, (before, after) => {
        this.#account(typeUrl, before, -1);
        this.#account(typeUrl, after, 1);
      });
      this.#types.set(typeUrl, view);
    }
    return view;
  }

  #account(typeUrl: ResourceTypeUrl, resources: readonly VersionedResource[], delta: 1 | -1): void {
    for (const resource of resources) {
      for (const need of this.#factsOf(typeUrl, resource).needs) {
        const key = needKey(need.typeUrl, need.name);
        const count = (this.#needed.get(key) ?? 0) + delta;
        if (count > 0) this.#needed.set(key, count);
        else this.#needed.delete(key);
      }
    }
  }

  /** Whether a resource Envoy may run needs this one. */
  isNeeded(typeUrl: ResourceTypeUrl, name: string): boolean {
    return this.#needed.has(needKey(typeUrl, name));
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
