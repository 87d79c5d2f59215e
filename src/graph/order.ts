/** Names reachable from `entry` along `edges`, the entry included. */
export function reachableFrom(
  entry: string,
  edges: ReadonlyMap<string, readonly string[]>,
): Set<string> {
  const reachable = new Set<string>();
  const pending = [entry];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (reachable.has(name)) continue;
    reachable.add(name);
    pending.push(...(edges.get(name) ?? []));
  }
  return reachable;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Names reachable from `entry`, each after every name that leads to it; among
 * names that are free to go next, the smallest goes first so the order never
 * depends on how the spec was written. `edges` must be acyclic.
 */
export function topologicalOrder(
  entry: string,
  edges: ReadonlyMap<string, readonly string[]>,
): string[] {
  const reachable = reachableFrom(entry, edges);
  const targets = (name: string) => [...new Set(edges.get(name) ?? [])];
  const incoming = new Map([...reachable].map((name) => [name, 0]));
  for (const name of reachable) {
    for (const next of targets(name)) incoming.set(next, (incoming.get(next) ?? 0) + 1);
  }
  const ready = [...reachable].filter((name) => incoming.get(name) === 0);
  const order: string[] = [];
  for (ready.sort(byName); ready.length > 0; ready.sort(byName)) {
    const name = ready.shift() as string;
    order.push(name);
    for (const next of targets(name)) {
      const left = (incoming.get(next) ?? 0) - 1;
      incoming.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return order;
}

/**
 * The longest chain of names from `entry` along `edges`, the entry first:
 * how deep a recursive walk of the graph goes. Without recursion, so a
 * graph of any depth is measured. `edges` must be acyclic.
 */
export function deepestChain(
  entry: string,
  edges: ReadonlyMap<string, readonly string[]>,
): string[] {
  const order = topologicalOrder(entry, edges);
  const below = new Map<string, { depth: number; next: string | undefined }>();
  for (const name of order.reverse()) {
    let best: { depth: number; next: string | undefined } = { depth: 1, next: undefined };
    for (const next of edges.get(name) ?? []) {
      const depth = (below.get(next)?.depth ?? 0) + 1;
      if (depth > best.depth) best = { depth, next };
    }
    below.set(name, best);
  }
  const chain: string[] = [];
  for (let name: string | undefined = entry; name !== undefined; name = below.get(name)?.next) {
    chain.push(name);
  }
  return chain;
}
