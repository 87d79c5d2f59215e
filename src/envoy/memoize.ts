/**
 * Remembers a pure translation per argument object. Plans are handed back
 * unchanged while their graph is unchanged, so a one-graph edit translates
 * one graph, and unchanged resources stay the same objects: the snapshot
 * cache and the encoder then skip them by identity.
 */
export function memoizeByIdentity<Key extends object, Value extends object>(
  translate: (key: Key) => Value,
): (key: Key) => Value {
  const remembered = new WeakMap<Key, Value>();
  return (key) => {
    // Translations are objects or lists, never undefined: one lookup tells a hit.
    let value = remembered.get(key);
    if (value === undefined) {
      value = translate(key);
      remembered.set(key, value);
    }
    return value;
  };
}
