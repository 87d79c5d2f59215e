import type { GraphModel } from '../graph/model.ts';
import { PLAN_HEADER } from '../plan/execution.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { formatPath } from '../spec/paths.ts';
import { EXT_PROC_FILTER } from './ext-proc.ts';
import { METADATA_NAMESPACE } from './options.ts';

/**
 * The most bytes Envoy takes in a header value it adds (HeaderValue.value,
 * PGV max_bytes), which is where the execution plan travels: a graph's
 * limit for as long as plans ride on its routes.
 */
export const MAX_PLAN_HEADER_BYTES = 16_384;

interface HeaderEntry {
  readonly key?: unknown;
  readonly value?: unknown;
  readonly header?: { readonly key?: unknown; readonly value?: unknown };
}

/** The plan header values a compiled route sets, exactly as Envoy would receive them. */
function planValues(route: Record<string, unknown>): string[] {
  const added = (route.request_headers_to_add ?? []) as HeaderEntry[];
  const extProc = (route.typed_per_filter_config as Record<string, unknown> | undefined)?.[
    EXT_PROC_FILTER
  ] as { config?: { overrides?: { grpc_initial_metadata?: HeaderEntry[] } } } | undefined;
  const metadata = extProc?.config?.overrides?.grpc_initial_metadata ?? [];
  return [
    ...added.flatMap((h) => (h.header?.key === PLAN_HEADER ? [h.header.value] : [])),
    ...metadata.flatMap((h) => (h.key === PLAN_HEADER ? [h.value] : [])),
  ].filter((value): value is string => typeof value === 'string');
}

function nodeOf(route: Record<string, unknown>): string {
  const metadata = route.metadata as
    { filter_metadata?: Record<string, { node?: unknown }> } | undefined;
  const node = metadata?.filter_metadata?.[METADATA_NAMESPACE]?.node;
  return typeof node === 'string' ? node : '';
}

/** The longest plan header any of these compiled routes sets, in bytes: what the limit is held to. */
export function longestPlanHeader(routes: readonly Record<string, unknown>[]): number {
  const encoder = new TextEncoder();
  return Math.max(
    0,
    ...routes.flatMap((route) => planValues(route).map((v) => encoder.encode(v).length)),
  );
}

/**
 * Plans too long for their header, said as the spec limit they are, against
 * the node the executor starts at, from the graph's compiled routes: what is
 * measured is what Envoy would be sent.
 */
export function planHeaderProblems(
  graph: GraphModel,
  routes: readonly Record<string, unknown>[],
): Diagnostic[] {
  const problems = new Map<string, Diagnostic>();
  const encoder = new TextEncoder();
  for (const route of routes) {
    for (const value of planValues(route)) {
      const bytes = encoder.encode(value).length;
      const node = nodeOf(route);
      if (bytes <= MAX_PLAN_HEADER_BYTES || problems.has(node)) continue;
      problems.set(node, {
        code: 'limit-exceeded',
        source: graph.source,
        path: formatPath(['spec', 'nodes', node]),
        message: `the executor's plan for "${node}" and the nodes below it is ${String(bytes)} bytes; Envoy carries it in the ${PLAN_HEADER} header, which holds at most ${String(MAX_PLAN_HEADER_BYTES)}`,
        hint: 'every node the executor runs from here, every sequence step and case adds to it: move part of the graph into a graph of its own, called by a node of kind graph (each graph carries its own plan)',
      });
    }
  }
  return [...problems.values()];
}
