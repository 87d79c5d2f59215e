/**
 * Remembers a pure translation per argument object. Plans are handed back
 * unchanged while their graph is unchanged, so a one-graph edit translates
 * one graph, and unchanged resources stay the same objects: the snapshot
 * cache and the encoder then skip them by identity.
 */
export function memoizeByIdentity<Key extends object, Value>(
  translate: (key: Key) => Value,
): (key: Key) => Value {
  const remembered = new WeakMap<Key, Value>();
  return (key) => {
    if (remembered.has(key)) return remembered.get(key) as Value;
    const value = translate(key);
    remembered.set(key, value);
    return value;
  };
}
