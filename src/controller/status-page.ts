import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterOfNode } from '../envoy/cluster-stats.ts';
import type { GraphModel } from '../graph/model.ts';
import { renderDot } from '../picture/dot.ts';
import { graphEdges } from '../picture/edges.ts';
import { renderSvg } from '../picture/svg.ts';
import type { NodeTraffic } from '../picture/traffic.ts';
import { graphId } from '../plan/upstreams.ts';
import {
  GRAPH_STATES,
  MAX_PAGE_SIZE,
  parsePageQuery,
  type GraphState,
  type PageQuery,
} from './page-query.ts';
import type { ControlPlaneStatus, GraphStatus } from './status.ts';
import { BadQuery, type StatusRoute } from './status-server.ts';
import type { TrafficWindow } from './traffic-window.ts';

/** One arrow of a graph on the page, with the traffic into its target node. */
export interface PageEdge {
  /** Empty for the calls into the graph's entry. */
  readonly from: string;
  readonly to: string;
  readonly label: string;
  /** A splitter's configured share of this route, in percent. */
  readonly weightPercent?: number;
  /** The share of the splitter's requests this route took in the window, in percent. */
  readonly observedPercent?: number;
  readonly traffic?: NodeTraffic;
}

export interface PageGraph {
  readonly id: string;
  readonly group: string;
  readonly state: GraphState;
  readonly version: string;
  readonly programmedBy: readonly string[];
  readonly envoys: number;
  readonly runs: 'Envoy' | 'executor';
  readonly entry: string;
  readonly edges: readonly PageEdge[];
  readonly svg: string;
}

/** What GET /ui/graphs serves: no payloads, no addresses, no values switches compare with. */
export interface PageModel {
  readonly windowSeconds: number;
  /** Every graph served, and how many are in each state. */
  readonly total: number;
  readonly states: Readonly<Record<GraphState, number>>;
  /** The graphs the query's filter and state match; `graphs` is one page of them. */
  readonly matched: number;
  readonly offset: number;
  readonly limit: number;
  readonly graphs: readonly PageGraph[];
  /** Inputs refused outright, by source: `switchyard validate` tells the rest. */
  readonly rejected: readonly { readonly source: string; readonly problems: number }[];
}

function stateOf(graph: GraphStatus, rejectedSources: ReadonlySet<string>): GraphState {
  // A newer version refused (by the checks or by an Envoy) while the last good one serves.
  if (graph.problems.length > 0 || rejectedSources.has(graph.source)) return 'rejected';
  return graph.envoys > 0 && graph.programmedOn === graph.envoys ? 'programmed' : 'accepted';
}

/** What the Envoys saw of the calls to each node, by the node's cluster. */
function trafficOf(traffic: TrafficWindow, graph: GraphModel, node: string) {
  const cluster = clusterOfNode(graph, node);
  return cluster === undefined ? undefined : traffic.trafficOf(cluster);
}

function pageEdges(graph: GraphModel, traffic: TrafficWindow): PageEdge[] {
  const edges = graphEdges(graph, { values: false });
  const splitTotals = new Map<string, number>();
  for (const edge of edges) {
    if (edge.weight === undefined) continue;
    const requests = trafficOf(traffic, graph, edge.to)?.requests ?? 0;
    splitTotals.set(edge.from, (splitTotals.get(edge.from) ?? 0) + requests);
  }
  // Calls into the graph: the entry's own traffic, when it is a node with a cluster.
  const entry = trafficOf(traffic, graph, graph.entry);
  const into: PageEdge[] =
    clusterOfNode(graph, graph.entry) === undefined
      ? []
      : [{ from: '', to: graph.entry, label: 'entry', ...(entry && { traffic: entry }) }];
  return into.concat(
    edges.map((edge) => {
      const seen = trafficOf(traffic, graph, edge.to);
      const total = splitTotals.get(edge.from) ?? 0;
      return {
        from: edge.from,
        to: edge.to,
        label: edge.label,
        ...(edge.weight && { weightPercent: edge.weight.percent }),
        ...(edge.weight &&
          total > 0 && {
            observedPercent: Math.round(((seen?.requests ?? 0) / total) * 1000) / 10,
          }),
        ...(seen && { traffic: seen }),
      };
    }),
  );
}

/**
 * Graphviz lays a picture out in milliseconds, but the page asks every few
 * seconds: pictures whose DOT did not change are kept, the least recently
 * shown dropped first, so several open pages do not evict each other's.
 */
class SvgCache {
  readonly #svgs = new Map<string, string>();
  readonly #limit = 4 * MAX_PAGE_SIZE;

  async svgOf(dot: string): Promise<string> {
    const known = this.#svgs.get(dot);
    if (known !== undefined) {
      this.#svgs.delete(dot);
      this.#svgs.set(dot, known);
      return known;
    }
    const svg = await renderSvg(dot);
    if (this.#svgs.size >= this.#limit) this.#svgs.delete(this.#svgs.keys().next().value as string);
    this.#svgs.set(dot, svg);
    return svg;
  }
}

export interface PageSources {
  readonly status: () => ControlPlaneStatus;
  readonly served: () => readonly { group: string; graphs: readonly GraphModel[] }[];
  readonly traffic: TrafficWindow;
}

function matches(graph: GraphStatus, state: GraphState, query: PageQuery): boolean {
  if (query.state !== undefined && state !== query.state) return false;
  const filter = query.filter.toLowerCase();
  return graph.id.toLowerCase().includes(filter) || graph.group.toLowerCase().includes(filter);
}

/**
 * Every graph is counted, one page of them is drawn: the page's pictures,
 * arrows and traffic are built for at most `limit` graphs whatever the
 * fleet's size (at 1,000 graphs drawing them all took the control plane
 * 3 s of every 2 s poll).
 */
async function pageModel(
  sources: PageSources,
  svgs: SvgCache,
  query: PageQuery,
): Promise<PageModel> {
  const status = sources.status();
  const rejectedSources = new Set(status.problems.map((problem) => problem.source));
  const states = Object.fromEntries(GRAPH_STATES.map((state) => [state, 0])) as Record<
    GraphState,
    number
  >;
  const matching: { graph: GraphStatus; state: GraphState }[] = [];
  for (const graph of status.graphs) {
    const state = stateOf(graph, rejectedSources);
    states[state] += 1;
    if (matches(graph, state, query)) matching.push({ graph, state });
  }
  matching.sort((a, b) => compare(a.graph.group, b.graph.group) || compare(a.graph.id, b.graph.id));
  const shown = matching.slice(query.offset, query.offset + query.limit);
  const models = new Map(
    sources
      .served()
      .flatMap(({ group, graphs }) =>
        graphs.map((graph) => [`${group}\u0000${graphId(graph)}`, graph] as const),
      ),
  );
  const graphs: PageGraph[] = [];
  for (const { graph, state } of shown) {
    const model = models.get(`${graph.group}\u0000${graph.id}`);
    if (!model) continue;
    const dot = renderDot([model], {
      values: false,
      traffic: (picture, node) => trafficOf(sources.traffic, picture, node),
    });
    graphs.push({
      id: graph.id,
      group: graph.group,
      state,
      version: graph.version,
      programmedBy: graph.programmedBy,
      envoys: graph.envoys,
      runs: graph.executors.length === 0 ? 'Envoy' : 'executor',
      entry: model.entry,
      edges: pageEdges(model, sources.traffic),
      svg: await svgs.svgOf(dot),
    });
  }
  return {
    windowSeconds: sources.traffic.windowSeconds,
    total: status.graphs.length,
    states,
    matched: matching.length,
    offset: query.offset,
    limit: query.limit,
    graphs,
    rejected: status.problems.map((problem) => ({
      source: problem.source,
      problems: problem.diagnostics.length,
    })),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** GET /ui (the page: one self-contained HTML file) and GET /ui/graphs (the JSON it polls). */
export function statusPageRoutes(sources: PageSources): ReadonlyMap<string, StatusRoute> {
  const html = readFileSync(join(import.meta.dirname, 'status-page.html'), 'utf8');
  const svgs = new SvgCache();
  return new Map<string, StatusRoute>([
    ['/ui', { contentType: 'text/html; charset=utf-8', body: () => html, withoutToken: true }],
    [
      '/ui/graphs',
      {
        contentType: 'application/json',
        body: async (query) => {
          const parsed = parsePageQuery(query);
          if (!parsed.ok) throw new BadQuery(parsed.reason);
          return `${JSON.stringify(await pageModel(sources, svgs, parsed.value))}\n`;
        },
      },
    ],
  ]);
}
