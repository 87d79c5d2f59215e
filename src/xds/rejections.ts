import { CLUSTER, LISTENER, type ResourceTypeUrl } from '../envoy/type-urls.ts';
import type { GroupSnapshot } from './cache.ts';

/** A resource version one Envoy refused, with what it said. */
export interface Rejection {
  readonly typeUrl: ResourceTypeUrl;
  readonly name: string;
  readonly version: string;
  /** The graphs the resource carries; none for shared ones. */
  readonly graphs: readonly string[];
  readonly message: string;
  readonly at: string;
}

/** Enough to keep every rejection an operator could still be looking at. */
const maxRejections = 1024;

function keyOf(typeUrl: string, name: string, version: string): string {
  return `${typeUrl} ${name} ${version}`;
}

/**
 * The resource versions one Envoy (one node id) refused. Kept for the life
 * of the control plane, across the Envoy's reconnects: a refused version is
 * never sent to it again, only a changed one.
 */
export class Rejections {
  readonly #byKey = new Map<string, Rejection>();
  /** Counts additions, so what is derived from the rejections can tell it is stale. */
  #revision = 0;

  get revision(): number {
    return this.#revision;
  }

  has(typeUrl: string, name: string, version: string): boolean {
    // Asked for every resource of every push: with nothing refused, no key is built.
    return this.#byKey.size > 0 && this.#byKey.has(keyOf(typeUrl, name, version));
  }

  add(rejection: Rejection): void {
    const key = keyOf(rejection.typeUrl, rejection.name, rejection.version);
    this.#byKey.delete(key);
    this.#byKey.set(key, rejection);
    this.#revision += 1;
    if (this.#byKey.size > maxRejections) {
      const [oldest] = this.#byKey.keys();
      if (oldest !== undefined) this.#byKey.delete(oldest);
    }
  }

  /** The rejections of versions that `snapshot` still holds: a change of the resource ends one. */
  inForce(snapshot: GroupSnapshot | undefined): Rejection[] {
    if (this.#byKey.size === 0 || !snapshot) return [];
    return [...this.#byKey.values()].filter(
      (r) => snapshot.get(r.typeUrl)?.resources.get(r.name)?.version === r.version,
    );
  }
}

/** How Envoy words a refusal of resources it applies one by one (CDS, LDS), and its separator. */
const perResource: Partial<Record<ResourceTypeUrl, { prefix: string; separator: string }>> = {
  [CLUSTER]: { prefix: 'Error adding/updating cluster(s) ', separator: ', ' },
  [LISTENER]: { prefix: 'Error adding/updating listener(s) ', separator: '\n' },
};

/**
 * The names among `candidates` that Envoy's NACK message names as failed.
 * CDS and LDS apply each resource of a response on its own and list the
 * failed ones as "<name>: <error>"; other types name none, and a failure
 * to decode a response refuses it whole without naming any.
 */
export function namedInRefusal(
  typeUrl: ResourceTypeUrl,
  message: string,
  candidates: readonly string[],
): string[] {
  const wording = perResource[typeUrl];
  if (!wording || !message.startsWith(wording.prefix)) return [];
  return candidates.filter(
    (name) =>
      message.startsWith(`${wording.prefix}${name}: `) ||
      message.includes(`${wording.separator}${name}: `),
  );
}
