import type { GraphPlan } from '../plan/types.ts';
import { errorBody } from '../protocols/error-body.ts';
import { ROOT_PATH, SERVER_METADATA_PATH } from '../protocols/paths.ts';
import { directResponse, jsonGet, readinessClusters, readinessRoute, rootRoutes } from './route.ts';

/** The Open Inference Protocol's server metadata: what serves the graphs. */
export const SERVER_METADATA = { name: 'switchyard', version: '0.1.0', extensions: [] };

type Route = Record<string, unknown>;

/**
 * A server's answers on one host, for the graphs served there (in id
 * order): the Open Inference Protocol's server liveness, readiness and
 * metadata where a V2 graph is served, KServe V1's liveness (`GET /`) where a
 * V1 graph is, and the root path `/` for KServe InferenceGraph clients.
 *
 * The server is ready when every graph on the host is: its readiness checks
 * the union of what each graph's readiness checks. The root path runs the
 * host's graph when there is one; with several, which of them is meant is
 * not said, and the answer says so.
 */
export function serverRoutes(host: string, graphs: readonly GraphPlan[]): Route[] {
  const routes: Route[] = [];
  if (graphs.some((graph) => graph.protocol === 'v2')) {
    const clusters = [...new Set(graphs.flatMap(readinessClusters))].sort();
    routes.push(
      jsonGet(`${host}/live`, '/v2/health/live', { live: true }),
      readinessRoute(`${host}/ready`, '/v2/health/ready', clusters),
      jsonGet(`${host}/metadata`, SERVER_METADATA_PATH, SERVER_METADATA),
    );
  }
  if (graphs.some((graph) => graph.protocol === 'v1')) {
    routes.push(jsonGet(`${host}/alive`, ROOT_PATH, { status: 'alive' }));
  }
  const [only, ...others] = graphs;
  if (only && others.length === 0) {
    routes.push(...rootRoutes(only));
  } else if (only) {
    routes.push({
      name: `${host}/root`,
      match: { path: ROOT_PATH },
      ...directResponse(
        errorBody({
          status: 404,
          reason: `${String(graphs.length)} graphs are served on this host, so its root path names none: call the graph's own path`,
        }),
        404,
      ),
    });
  }
  return routes;
}
