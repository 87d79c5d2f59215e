/**
 * Envoy's stats of a node's cluster name its graph and node: the cluster's
 * alt_stat_name is `switchyard/<namespace>/<graph>/<node>`, and the
 * bootstrap's tag extractors turn it into the tags `switchyard_graph`
 * ("<namespace>/<graph>") and `switchyard_node`, so /stats/prometheus shows
 * e.g. envoy_cluster_upstream_rq_total{switchyard_graph="default/g",
 * switchyard_node="m"}. docs/observability.md lists them.
 *
 * Envoy splits stat names at dots, and its own cluster-name tag takes all up
 * to the first one: a dot in a name is written %2E (and a percent sign %25),
 * so the name reads back exactly, with no lookup table.
 */

export const GRAPH_TAG = 'switchyard_graph';
export const NODE_TAG = 'switchyard_node';

const PREFIX = 'switchyard';

function escaped(name: string): string {
  return name.replaceAll('%', '%25').replaceAll('.', '%2E');
}

/** The stat name of the cluster of `node` in graph `graph` ("<namespace>/<name>"). */
export function nodeStatName(graph: string, node: string): string {
  return `${PREFIX}/${escaped(graph)}/${escaped(node)}`;
}

/** A segment of an escaped name: no slash, no dot. */
const SEGMENT = '[^/.]+';

/**
 * stats_config.stats_tags of the bootstrap. In each regex the first group
 * is cut from the stat name and the second is the tag's value.
 */
export const statsTags = [
  {
    tag_name: GRAPH_TAG,
    regex: `^cluster\\.${PREFIX}/((${SEGMENT}/${SEGMENT})/)${SEGMENT}\\.`,
  },
  {
    tag_name: NODE_TAG,
    regex: `^cluster\\.${PREFIX}/${SEGMENT}/${SEGMENT}/((${SEGMENT})\\.)`,
  },
];
