import { EXECUTION_PLAN_TYPE_URL } from '../plan/execution.ts';

const prefix = 'type.googleapis.com/';

export const LISTENER = `${prefix}envoy.config.listener.v3.Listener`;
export const ROUTE = `${prefix}envoy.config.route.v3.RouteConfiguration`;
export const SCOPED_ROUTE = `${prefix}envoy.config.route.v3.ScopedRouteConfiguration`;
export const CLUSTER = `${prefix}envoy.config.cluster.v3.Cluster`;
export const ENDPOINT = `${prefix}envoy.config.endpoint.v3.ClusterLoadAssignment`;
/** A filter configuration served on its own (ECDS), so changing it leaves the listener alone. */
export const EXTENSION_CONFIG = `${prefix}envoy.config.core.v3.TypedExtensionConfig`;
/**
 * An executor's plan, named by its content hash (envoy/plan-carriage.ts):
 * served to executors only; Envoy never asks for it.
 */
export const EXECUTION_PLAN = EXECUTION_PLAN_TYPE_URL;

export type ResourceTypeUrl =
  | typeof EXECUTION_PLAN
  | typeof LISTENER
  | typeof EXTENSION_CONFIG
  | typeof SCOPED_ROUTE
  | typeof ROUTE
  | typeof CLUSTER
  | typeof ENDPOINT;

/**
 * The order Envoy must receive resource types in: what is referenced comes
 * before what refers to it. Plans come first: an executor's stream writes
 * them before any Envoy's stream of the group gets to its route tables.
 */
export const pushOrder: readonly ResourceTypeUrl[] = [
  EXECUTION_PLAN,
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
