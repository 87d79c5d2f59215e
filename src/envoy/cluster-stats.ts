import type { GraphModel } from '../graph/model.ts';
import { graphId, hasEndpoint } from '../plan/upstreams.ts';
import { nodeStatName } from './stat-names.ts';

/**
 * Envoy's per-cluster counters the status page reads, and what each counts:
 * every request to the cluster (each retry too), and those answered 5xx.
 */
const countersRead = { upstream_rq_total: 'requests', upstream_rq_5xx: 'errors' } as const;

export type ClusterCounter = (typeof countersRead)[keyof typeof countersRead];

/**
 * The name under which Envoy reports the stats of the cluster that calls a
 * node: the alt_stat_name the translator gives it (cluster.ts, from
 * stat-names.ts). Nodes without an endpoint of their own have none.
 */
export function clusterOfNode(graph: GraphModel, node: string): string | undefined {
  const model = graph.nodes.get(node);
  return model !== undefined && hasEndpoint(model) ? nodeStatName(graphId(graph), node) : undefined;
}

/**
 * A counter's stat name read back, "cluster.<cluster stat name>.<counter>",
 * the counter matched at the end.
 */
export function clusterCounterOf(
  statName: string,
): { readonly cluster: string; readonly counter: ClusterCounter } | undefined {
  if (!statName.startsWith('cluster.')) return undefined;
  const dot = statName.lastIndexOf('.');
  const counter = statName.slice(dot + 1);
  if (!Object.hasOwn(countersRead, counter)) return undefined;
  const cluster = statName.slice('cluster.'.length, dot);
  return cluster === ''
    ? undefined
    : { cluster, counter: countersRead[counter as keyof typeof countersRead] };
}
