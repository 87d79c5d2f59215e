/**
 * Envoy's stats of a node's cluster and routes name their graph and node: the
 * cluster's alt_stat_name and a hop route's stat_prefix are
 * `switchyard/<namespace>/<graph>/<node>`, a graph's inference routes'
 * stat_prefix is `switchyard/<namespace>/<graph>`, and the bootstrap's tag
 * extractors turn them into the tags `switchyard_graph` ("<namespace>/<graph>")
 * and `switchyard_node`, so /stats/prometheus shows e.g.
 * envoy_cluster_upstream_rq_total{switchyard_graph="default/g",
 * switchyard_node="m"}. docs/observability.md lists them.
 *
 * Envoy splits stat names at dots, and its own cluster-name, virtual-host and
 * route tags take one dot-free segment each: a dot in a name is written %2E
 * (and a percent sign %25), so the name reads back exactly, with no lookup table.
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

/** The stat name of the inference routes of graph `graph` ("<namespace>/<name>"). */
export function graphStatName(graph: string): string {
  return `${PREFIX}/${escaped(graph)}`;
}

/** A virtual host's name, which is a stat name too: its host, dots escaped. */
export function virtualHostStatName(host: string): string {
  return escaped(host);
}

/** A segment of an escaped name: no slash, no dot. */
const SEGMENT = '[^/.]+';

/**
 * Where a name of ours starts: a cluster's stats, or a route's
 * (`vhost.<virtual host>.route.<stat_prefix>.`).
 */
const OWNER = `^(?:cluster|vhost\\.[^.]+\\.route)\\.${PREFIX}/`;

/**
 * stats_config.stats_tags of the bootstrap. In each regex the first group
 * is cut from the stat name and the second is the tag's value. One regex
 * per tag reads both cluster and route names.
 */
export const statsTags = [
  {
    tag_name: GRAPH_TAG,
    regex: `${OWNER}((${SEGMENT}/${SEGMENT})[/.])`,
  },
  {
    tag_name: NODE_TAG,
    regex: `${OWNER}${SEGMENT}/${SEGMENT}/((${SEGMENT})\\.)`,
  },
];
