import type { Diagnostic } from '../spec/diagnostic.ts';
import { parseDuration } from '../spec/duration.ts';
import { MAX_GRAPH_DEPTH } from '../spec/limits.ts';
import { formatPath } from '../spec/paths.ts';
import { didYouMean } from '../spec/suggest.ts';
import type { NodeSpec, OutlierDetection, Protocol, Retries } from '../spec/schema.ts';
import type { ValidatedDocument } from '../spec/validate.ts';
import { findCycles } from './cycles.ts';
import type { GraphModel, NodeModel, OutlierDetectionModel, RetriesModel } from './model.ts';
import { deepestChain, reachableFrom, topologicalOrder } from './order.ts';
import { referencesOf, type Reference } from './references.ts';

const defaultTimeoutMs = 30_000;
const defaultMaxRequestBytes = 10 * 1024 * 1024;

function listOf(names: ReadonlySet<string>): string {
  return [...names].sort().join(', ');
}

/**
 * The schema admits only durations parseDuration reads, so one that got
 * here parses: a duration that does not is this code's bug, not the user's.
 */
function milliseconds(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`duration ${JSON.stringify(text)} passed the schema`);
  return ms;
}

function timedRetries({ attempts, perTryTimeout, on }: Retries): RetriesModel {
  return {
    attempts,
    ...(perTryTimeout !== undefined && { perTryTimeoutMs: milliseconds(perTryTimeout) }),
    ...(on !== undefined && { on }),
  };
}

function timedOutlierDetection(outlier: OutlierDetection): OutlierDetectionModel {
  const { interval, baseEjectionTime, ...counts } = outlier;
  return {
    ...counts,
    ...(interval !== undefined && { intervalMs: milliseconds(interval) }),
    ...(baseEjectionTime !== undefined && { baseEjectionTimeMs: milliseconds(baseEjectionTime) }),
  };
}

/** A node with its durations read once, here: later stages never see duration text. */
function timedNode(node: NodeSpec): NodeModel {
  const { timeout, retries, ...rest } = node;
  const outlier = 'outlierDetection' in node ? node.outlierDetection : undefined;
  // Each kind keeps its own fields; only the durations change form.
  return {
    ...rest,
    ...(timeout !== undefined && { timeoutMs: milliseconds(timeout) }),
    ...(retries !== undefined && { retries: timedRetries(retries) }),
    ...(outlier !== undefined && { outlierDetection: timedOutlierDetection(outlier) }),
  };
}

/** The explainer answers KServe V1's :explain, on its own V1 path: a V1 model of a V1 graph. */
function explainerProblems(
  source: string,
  explainer: string,
  protocol: Protocol,
  nodes: ReadonlyMap<string, NodeSpec>,
  names: ReadonlySet<string>,
): Diagnostic[] {
  const at = formatPath(['spec', 'explainer']);
  if (!names.has(explainer)) {
    return [
      {
        code: 'dangling-reference',
        source,
        path: at,
        message: `there is no node "${explainer}"`,
        hint: didYouMean(explainer, names) ?? `name one of: ${listOf(names)}`,
      },
    ];
  }
  const node = nodes.get(explainer);
  if (protocol !== 'v1') {
    return [
      {
        code: 'invalid-value',
        source,
        path: at,
        message: `only V1 graphs explain predictions (/v1/models/<graph>:explain), and this graph speaks ${protocol}`,
        hint: 'remove explainer, or set spec.protocol: v1',
      },
    ];
  }
  if (node && (node.kind !== 'model' || (node.protocol ?? protocol) !== 'v1')) {
    return [
      {
        code: 'invalid-value',
        source,
        path: at,
        message: `the explainer "${explainer}" must be a V1 model node (it is called on /v1/models/<model>:explain)`,
        hint: 'point explainer at a node of kind model speaking protocol v1',
      },
    ];
  }
  return [];
}

function withExplainer(order: string[], explainer: string | undefined): string[] {
  return explainer === undefined || order.includes(explainer) ? order : [...order, explainer];
}

/**
 * The DAG checks (entry, references, cycles, reachability), then the model.
 * Checks run on whatever parts of the document passed the schema, so their
 * problems show alongside the schema's; a graph comes back only when the
 * whole document is sound.
 */
export function buildGraph(
  source: string,
  document: ValidatedDocument,
): { graph?: GraphModel; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const { settings, nodes } = document;
  const names = new Set(document.nodeNames);
  const entry = settings.entry;
  if (entry !== undefined && !names.has(entry)) {
    diagnostics.push({
      code: 'missing-entry',
      source,
      path: 'spec.entry',
      message: `the entry node "${entry}" is not among the nodes`,
      hint:
        didYouMean(entry, names) ??
        (names.size > 0 ? `name one of: ${listOf(names)}` : 'define it under spec.nodes'),
    });
  }

  let allResolved = true;
  const references = new Map<string, Reference[]>();
  const edges = new Map<string, string[]>();
  for (const [name, node] of nodes) {
    const resolved: Reference[] = [];
    for (const reference of referencesOf(name, node)) {
      if (names.has(reference.target)) {
        resolved.push(reference);
        continue;
      }
      allResolved = false;
      diagnostics.push({
        code: 'dangling-reference',
        source,
        path: formatPath(reference.path),
        message: `there is no node "${reference.target}"`,
        hint:
          didYouMean(reference.target, names) ??
          `define it under spec.nodes, or refer to one of: ${listOf(names)}`,
      });
    }
    references.set(name, resolved);
    edges.set(
      name,
      resolved.map((r) => r.target),
    );
    if (node.kind === 'ensemble' && node.combiner !== undefined) {
      const combiner = nodes.get(node.combiner);
      if (combiner && combiner.kind !== 'combiner') {
        diagnostics.push({
          code: 'invalid-value',
          source,
          path: formatPath(['spec', 'nodes', name, 'combiner']),
          message: `"${node.combiner}" is a ${combiner.kind} node, not a combiner`,
          hint: 'point combiner at a node of kind combiner, or use combine: with a built-in',
        });
      }
    }
  }

  for (const [index, name] of (settings.returnOutputs ?? []).entries()) {
    if (names.has(name)) continue;
    diagnostics.push({
      code: 'dangling-reference',
      source,
      path: formatPath(['spec', 'returnOutputs', index]),
      message: `there is no node "${name}"`,
      hint: didYouMean(name, names) ?? `name one of: ${listOf(names)}`,
    });
  }

  const explainer = settings.explainer;
  if (explainer !== undefined) {
    diagnostics.push(
      ...explainerProblems(source, explainer, settings.protocol ?? 'v2', nodes, names),
    );
  }

  for (const cycle of findCycles(entry === undefined ? [] : [entry], edges)) {
    const from = cycle.at(-2) ?? '';
    const to = cycle.at(-1) ?? '';
    const closing = references.get(from)?.find((r) => r.target === to);
    diagnostics.push({
      code: 'cycle',
      source,
      path: formatPath(closing?.path ?? ['spec', 'nodes', from]),
      message: `the nodes form a cycle: ${cycle.join(' → ')}`,
      hint: 'a graph is acyclic: remove one of these references',
    });
  }

  // Unreachable is only certain when every reference is known and resolves; a
  // misspelt reference would otherwise also show up as its target being unreachable.
  const complete = nodes.size === names.size;
  if (entry !== undefined && names.has(entry) && complete && allResolved) {
    const reachable = reachableFrom(entry, edges);
    if (explainer !== undefined) reachable.add(explainer);
    for (const name of [...names].sort()) {
      if (reachable.has(name)) continue;
      diagnostics.push({
        code: 'invalid-value',
        source,
        path: formatPath(['spec', 'nodes', name]),
        message: `node "${name}" is not reachable from the entry "${entry}"`,
        hint: 'remove it, or refer to it from a node on the way',
      });
    }
  }

  if (diagnostics.length > 0 || !complete || entry === undefined || document.name === undefined) {
    return { diagnostics };
  }
  const deepest = deepestChain(entry, edges);
  if (deepest.length > MAX_GRAPH_DEPTH) {
    const last = deepest[MAX_GRAPH_DEPTH] ?? entry;
    return {
      diagnostics: [
        {
          code: 'limit-exceeded',
          source,
          path: formatPath(['spec', 'nodes', last]),
          message: `the graph nests ${String(deepest.length)} nodes deep from its entry (${deepest.slice(0, 3).join(' → ')} → …), past the ${String(MAX_GRAPH_DEPTH)} a graph may`,
          hint: 'move part of the chain into a graph of its own, called by a node of kind graph',
        },
      ],
    };
  }
  const sorted = [...nodes.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, node]): [string, NodeModel] => [name, timedNode(node)]);
  return {
    graph: {
      name: document.name,
      namespace: document.namespace,
      source,
      host: settings.host?.toLowerCase() ?? '*',
      protocol: settings.protocol ?? 'v2',
      timeoutMs: settings.timeout === undefined ? defaultTimeoutMs : milliseconds(settings.timeout),
      entry,
      propagateHeaders: settings.propagateHeaders ?? [],
      returnOutputs: settings.returnOutputs ?? [],
      maxRequestBytes: settings.maxRequestBytes ?? defaultMaxRequestBytes,
      ...(explainer !== undefined && { explainer }),
      ...(settings.hops !== undefined && { hops: settings.hops }),
      ...(settings.payloadLog !== undefined && { payloadLog: settings.payloadLog }),
      nodes: new Map(sorted),
      order: withExplainer(topologicalOrder(entry, edges), explainer),
    },
    diagnostics,
  };
}
