/**
 * Every cycle a depth-first search meets, each as the names along it with the
 * first repeated at the end ("a → b → a"). The search starts from `starts`,
 * then from the remaining names in name order, so the same edges always give
 * the same cycles. Iterative: a long chain of user nodes must not overflow the
 * call stack.
 */
export function findCycles(
  starts: readonly string[],
  edges: ReadonlyMap<string, readonly string[]>,
): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  for (const root of [...starts, ...[...edges.keys()].sort()]) {
    if (state.has(root)) continue;
    state.set(root, 'open');
    const frames = [{ name: root, next: 0 }];
    for (let frame = frames.at(-1); frame !== undefined; frame = frames.at(-1)) {
      const target = edges.get(frame.name)?.[frame.next];
      frame.next += 1;
      if (target === undefined) {
        state.set(frame.name, 'done');
        frames.pop();
      } else if (state.get(target) === 'open') {
        const from = frames.findIndex((f) => f.name === target);
        cycles.push([...frames.slice(from).map((f) => f.name), target]);
      } else if (!state.has(target)) {
        state.set(target, 'open');
        frames.push({ name: target, next: 0 });
      }
    }
  }
  return cycles;
}
