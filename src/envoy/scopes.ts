import { PLAN_HEADER, PLAN_REFERENCE_HEADER } from '../plan/execution.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import { SCOPED_ROUTE, typed } from './type-urls.ts';
import type { EnvoyResource } from './resource-set.ts';

/**
 * Each graph's routes live in route tables of their own, chosen per request
 * by scoped RDS, so a one-graph change sends and rebuilds one small table
 * instead of every graph's routes.
 *
 * A scope is keyed by the fourth segment of the request path without its
 * query: the graph's name for V2 (`/v2/models/NAME/infer`, `/v2/models/NAME`,
 * `/v2/models/NAME/versions/V/infer`), `NAME:predict`, `NAME:explain` or
 * `NAME` for V1, `predictions`/`feedback` for Seldon (whose graphs differ by
 * host, a virtual host each within the one table), the deployment for
 * Seldon's gateway paths (`/seldon/NAMESPACE/NAME/...`), and `live`/`ready`
 * for V2 server health. Paths of fewer segments (`/`, `/v2`, `/ready`) share
 * the key "-", which no name can be. Envoy's scope key comes from a header
 * only, so the listener copies the path into one before routing, with
 * "/-/-/-" after it: every path then has a fourth segment.
 */
export const SCOPE_HEADER = 'x-switchyard-scope';
const keySegment = 3;
const shortPathPadding = '/-/-/-';

export const SCOPES_NAME = 'switchyard-scopes';
const tablePrefix = 'switchyard-graphs/';

export function scopeKeyOf(route: string): string {
  const path = `${route}${shortPathPadding}`;
  // Found by hand rather than split: every route of every graph goes through here.
  let start = 0;
  for (let segment = 0; segment < keySegment && start >= 0; segment++) {
    start = path.indexOf('/', start);
    if (start >= 0) start += 1;
  }
  const end = start < 0 ? -1 : path.indexOf('/', start);
  const key = start < 0 ? undefined : path.slice(start, end < 0 ? undefined : end);
  // Every public path is compiled by us: one without a key is our bug.
  if (key === undefined || key === '') throw new Error(`no scope key in path ${route}`);
  return key;
}

export function routeTableName(key: string): string {
  return `${tablePrefix}${key}`;
}

/** The HttpConnectionManager fields that route by scope. */
export function scopedRouting(): Record<string, unknown> {
  return {
    // Runs before any routing and overwrites whatever a client sent in the header. PATH, not
    // the default ORIG: calls back through the hop listener carry x-envoy-original-path.
    early_header_mutation_extensions: [
      {
        name: 'envoy.http.early_header_mutation.header_mutation',
        typed_config: {
          '@type': typed(
            'envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation',
          ),
          mutations: [
            {
              append: {
                header: { key: SCOPE_HEADER, value: `%PATH(NQ:PATH)%${shortPathPadding}` },
                append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
              },
            },
            // Only routes to the executor set it, and the listener's error replies tell them by it.
            { remove: PLAN_HEADER },
            { remove: PLAN_REFERENCE_HEADER },
          ],
        },
      },
    ],
    scoped_routes: {
      name: SCOPES_NAME,
      scope_key_builder: {
        fragments: [
          {
            header_value_extractor: {
              name: SCOPE_HEADER,
              element_separator: '/',
              index: keySegment,
            },
          },
        ],
      },
      rds_config_source: ADS_CONFIG_SOURCE,
      scoped_rds: { scoped_rds_config_source: ADS_CONFIG_SOURCE },
    },
  };
}

export function scopeName(key: string): string {
  return `${SCOPES_NAME}/${key}`;
}

export function scope(key: string): EnvoyResource {
  return {
    '@type': SCOPED_ROUTE,
    name: scopeName(key),
    route_configuration_name: routeTableName(key),
    key: { fragments: [{ string_key: key }] },
  };
}
