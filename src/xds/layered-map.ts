/**
 * A read-only map made of another with a few entries changed, so that the
 * cache's next type snapshot costs what changed, not every resource of the
 * type: copying the 10,000 route tables of 10,000 graphs for each changed
 * table cost more than the rest of the push (bench/xds-serving.ts). Layers
 * do not stack: an edit of an edit copies the (small) layer onto the same
 * flat base, which is made anew once the layer grows past about the square
 * root of its size, so reads stay two lookups and edits stay cheap. The
 * maps it is made from must not change afterwards; entry order is not kept.
 */
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  /** Entries added or replaced over the base. */
  readonly #set: ReadonlyMap<K, V>;
  /** Keys of the base taken out; never keys of `#set`. */
  readonly #removed: ReadonlySet<K>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, set: Map<K, V>, removed: Set<K>) {
    this.#base = base;
    this.#set = set;
    this.#removed = removed;
    let added = 0;
    for (const key of set.keys()) if (!base.has(key)) added += 1;
    this.size = base.size - removed.size + added;
  }

  /** `from` with `updated` set and `removed` taken out (a key in both ends up removed). */
  static edit<K, V>(
    from: ReadonlyMap<K, V>,
    updated: ReadonlyMap<K, V>,
    removed: Iterable<K>,
  ): ReadonlyMap<K, V> {
    const layered = from instanceof LayeredMap;
    const base: ReadonlyMap<K, V> = layered ? (from as LayeredMap<K, V>).#base : from;
    const set = new Map(layered ? (from as LayeredMap<K, V>).#set : undefined);
    const gone = new Set(layered ? (from as LayeredMap<K, V>).#removed : undefined);
    for (const [key, value] of updated) {
      set.set(key, value);
      gone.delete(key);
    }
    for (const key of removed) {
      set.delete(key);
      if (base.has(key)) gone.add(key);
    }
    const edited = new LayeredMap(base, set, gone);
    if (set.size + gone.size <= Math.max(32, 2 * Math.sqrt(base.size))) return edited;
    return new Map(edited);
  }

  get(key: K): V | undefined {
    if (this.#set.has(key)) return this.#set.get(key);
    return this.#removed.has(key) ? undefined : this.#base.get(key);
  }

  has(key: K): boolean {
    return this.#set.has(key) || (!this.#removed.has(key) && this.#base.has(key));
  }

  *entries(): MapIterator<[K, V]> {
    for (const entry of this.#base) {
      if (!this.#set.has(entry[0]) && !this.#removed.has(entry[0])) yield entry;
    }
    yield* this.#set;
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}
