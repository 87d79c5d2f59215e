import { typed } from './type-urls.ts';

/**
 * Envoy's filter chain filter runs, per route, the filters the route names:
 * each graph's body limit and each readiness route's health check differ by
 * route, and neither filter has a per-route configuration of its own. The
 * listener's entry holds no chain, so routes that name none pass through.
 */
export const ROUTE_FILTERS = 'envoy.filters.http.filter_chain';

export function routeFiltersFilter() {
  return {
    name: ROUTE_FILTERS,
    typed_config: {
      '@type': typed('envoy.extensions.filters.http.filter_chain.v3.FilterChainConfig'),
    },
  };
}

function routeFilters(filters: readonly Record<string, unknown>[]) {
  return {
    [ROUTE_FILTERS]: {
      '@type': typed('envoy.extensions.filters.http.filter_chain.v3.FilterChainConfigPerRoute'),
      filter_chain: { filters },
    },
  };
}

const bodyLimits = new Map<number, ReturnType<typeof routeFilters>>();

/**
 * The graph's maxRequestBytes, held as the body streams: a declared length
 * over it is refused at once, a streamed one once the count passes it (413
 * either way, while no answer has started), and nothing is buffered.
 */
export function bodyLimitRouteConfig(maxBytes: number) {
  // One object per limit, shared by every route that has it: graphs rarely set their own.
  let config = bodyLimits.get(maxBytes);
  if (!config) {
    config = routeFilters([
      {
        name: 'envoy.filters.http.body_size_limit',
        typed_config: {
          '@type': typed('envoy.extensions.filters.http.body_size_limit.v3.BodySizeLimit'),
          max_request_bytes: maxBytes,
        },
      },
    ]);
    bodyLimits.set(maxBytes, config);
  }
  return config;
}

/**
 * A node is ready while at least this share of its endpoints pass their
 * health checks: Envoy compares whole percents, so 1 means "any" for nodes
 * of up to 100 endpoints.
 */
const MIN_HEALTHY_PERCENT = 1;

/**
 * Answers every request of the route itself, from the health of `clusters`:
 * 200 when each has a healthy endpoint, 503 otherwise (local replies the
 * listener writes as the readiness answer or the error shape).
 */
export function readinessRouteConfig(clusters: readonly string[]) {
  return routeFilters([
    {
      name: 'envoy.filters.http.health_check',
      typed_config: {
        '@type': typed('envoy.extensions.filters.http.health_check.v3.HealthCheck'),
        pass_through_mode: false,
        cluster_min_healthy_percentages: Object.fromEntries(
          clusters.map((cluster) => [cluster, { value: MIN_HEALTHY_PERCENT }]),
        ),
      },
    },
  ]);
}
