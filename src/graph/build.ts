import type { Diagnostic } from '../spec/diagnostic.ts';
import { parseDuration } from '../spec/duration.ts';
import { formatPath } from '../spec/paths.ts';
import { didYouMean } from '../spec/suggest.ts';
import type { ValidatedDocument } from '../spec/validate.ts';
import type { GraphModel } from './model.ts';
import { referencesOf } from './references.ts';

const defaultTimeoutMs = 30_000;

/** Depth-first search from the entry; reports each cycle once, naming it. */
function findCycles(entry: string, edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, 'open');
    stack.push(name);
    for (const next of edges.get(name) ?? []) {
      const seen = state.get(next);
      if (seen === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(name, 'done');
  };
  visit(entry);
  for (const name of [...edges.keys()].sort()) if (!state.has(name)) visit(name);
  return cycles;
}

function reachableFrom(entry: string, edges: ReadonlyMap<string, readonly string[]>): Set<string> {
  const reachable = new Set<string>();
  const pending = [entry];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (reachable.has(name)) continue;
    reachable.add(name);
    pending.push(...(edges.get(name) ?? []));
  }
  return reachable;
}

/** Reachable nodes, each after every node that leads to it; ties in name order. */
function topologicalOrder(entry: string, edges: ReadonlyMap<string, readonly string[]>): string[] {
  const reachable = reachableFrom(entry, edges);
  const incoming = new Map([...reachable].map((n) => [n, 0]));
  for (const name of reachable) {
    for (const next of new Set(edges.get(name) ?? []))
      incoming.set(next, (incoming.get(next) ?? 0) + 1);
  }
  const ready = [...reachable].filter((n) => incoming.get(n) === 0).sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const name = ready.shift() as string;
    order.push(name);
    for (const next of [...new Set(edges.get(name) ?? [])].sort()) {
      const left = (incoming.get(next) ?? 0) - 1;
      incoming.set(next, left);
      if (left === 0) {
        ready.push(next);
        ready.sort();
      }
    }
  }
  return order;
}

/** The DAG checks: entry, references, cycles, reachability; then the model. */
export function buildGraph(
  source: string,
  document: ValidatedDocument,
): { graph?: GraphModel; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const { spec, nodes, nodeNames } = document;
  const names = new Set(nodeNames);
  if (!names.has(spec.entry)) {
    diagnostics.push({
      code: 'missing-entry',
      source,
      path: 'spec.entry',
      message: `the entry node "${spec.entry}" is not among the nodes`,
      hint: didYouMean(spec.entry, names) ?? `name one of: ${[...names].sort().join(', ')}`,
    });
  }
  const edges = new Map<string, string[]>();
  for (const [name, node] of nodes) {
    const targets: string[] = [];
    for (const reference of referencesOf(name, node)) {
      if (!names.has(reference.target)) {
        diagnostics.push({
          code: 'dangling-reference',
          source,
          path: formatPath(reference.path),
          message: `there is no node "${reference.target}"`,
          hint:
            didYouMean(reference.target, names) ??
            `define it under spec.nodes, or refer to one of: ${[...names].sort().join(', ')}`,
        });
      } else if (reference.target === name) {
        diagnostics.push({
          code: 'cycle',
          source,
          path: formatPath(reference.path),
          message: `node "${name}" refers to itself`,
          hint: 'graphs are acyclic: point it at another node',
        });
      } else {
        targets.push(reference.target);
      }
    }
    if (node.kind === 'ensemble' && node.combiner !== undefined) {
      const combiner = nodes.get(node.combiner);
      if (combiner && combiner.kind !== 'combiner') {
        diagnostics.push({
          code: 'invalid-value',
          source,
          path: formatPath(['spec', 'nodes', name, 'combiner']),
          message: `"${node.combiner}" is a ${combiner.kind}, not a combiner`,
          hint: 'point combiner at a node of kind combiner, or use combine: with a built-in',
        });
      }
    }
    edges.set(name, targets);
  }
  if (diagnostics.length > 0 || nodes.size !== names.size) return { diagnostics };

  const reachable = reachableFrom(spec.entry, edges);
  for (const name of [...names].sort()) {
    if (!reachable.has(name)) {
      diagnostics.push({
        code: 'invalid-value',
        source,
        path: formatPath(['spec', 'nodes', name]),
        message: `node "${name}" is not reachable from the entry "${spec.entry}"`,
        hint: 'remove it, or refer to it from a node on the way',
      });
    }
  }
  for (const cycle of findCycles(spec.entry, edges)) {
    diagnostics.push({
      code: 'cycle',
      source,
      path: formatPath(['spec', 'nodes', cycle[0] ?? '']),
      message: `the nodes form a cycle: ${cycle.join(' → ')}`,
      hint: 'graphs are acyclic: remove one of these references',
    });
  }
  if (diagnostics.length > 0) return { diagnostics };

  const order = topologicalOrder(spec.entry, edges);
  const sorted = [...nodes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    graph: {
      name: document.metadata.name,
      namespace: document.metadata.namespace,
      source,
      host: spec.host?.toLowerCase() ?? '*',
      protocol: spec.protocol ?? 'v2',
      timeoutMs:
        spec.timeout === undefined
          ? defaultTimeoutMs
          : (parseDuration(spec.timeout) ?? defaultTimeoutMs),
      entry: spec.entry,
      propagateHeaders: spec.propagateHeaders ?? [],
      nodes: new Map(sorted),
      order,
    },
    diagnostics,
  };
}
