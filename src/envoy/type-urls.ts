const prefix = 'type.googleapis.com/';

export const LISTENER = `${prefix}envoy.config.listener.v3.Listener`;
export const ROUTE = `${prefix}envoy.config.route.v3.RouteConfiguration`;
export const SCOPED_ROUTE = `${prefix}envoy.config.route.v3.ScopedRouteConfiguration`;
export const CLUSTER = `${prefix}envoy.config.cluster.v3.Cluster`;
export const ENDPOINT = `${prefix}envoy.config.endpoint.v3.ClusterLoadAssignment`;
/** A filter configuration served on its own (ECDS), so changing it leaves the listener alone. */
export const EXTENSION_CONFIG = `${prefix}envoy.config.core.v3.TypedExtensionConfig`;

export type ResourceTypeUrl =
  | typeof LISTENER
  | typeof EXTENSION_CONFIG
  | typeof SCOPED_ROUTE
  | typeof ROUTE
  | typeof CLUSTER
  | typeof ENDPOINT;

/** The order Envoy must receive resource types in: what is referenced comes before what refers to it. */
export const pushOrder: readonly ResourceTypeUrl[] = [
  CLUSTER,
  ENDPOINT,
  LISTENER,
  EXTENSION_CONFIG,
  SCOPED_ROUTE,
  ROUTE,
];

export function typed(typeName: string): string {
  return `${prefix}${typeName}`;
}
