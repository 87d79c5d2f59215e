/** The parts of Envoy's config_dump the tests look at. */
export interface DumpedRoute {
  readonly name?: string;
  readonly match?: { readonly runtime_fraction?: unknown };
  readonly route?: { readonly cluster?: string };
}

/** config_dump?resource=dynamic_route_configs lists each DynamicRouteConfig under configs. */
interface RouteDump {
  readonly configs?: readonly {
    readonly route_config?: {
      readonly virtual_hosts?: readonly { readonly routes?: readonly DumpedRoute[] }[];
    };
  }[];
}

/** A route of Envoy's config_dump (resource=dynamic_route_configs), found by name. */
export function routeNamed(dump: unknown, name: string): DumpedRoute | undefined {
  for (const config of (dump as RouteDump).configs ?? []) {
    for (const host of config.route_config?.virtual_hosts ?? []) {
      const found = host.routes?.find((route) => route.name === name);
      if (found) return found;
    }
  }
  return undefined;
}
