import type { GraphModel, NodeModel } from '../graph/model.ts';
import { nodePath } from '../protocols/paths.ts';
import type { DirectHop } from './execution.ts';
import { retryPlan } from './route-rules.ts';
import type { HostPort } from './types.ts';
import { endpointsOf, hasEndpoint } from './upstreams.ts';

function origin(scheme: 'http' | 'https', address: HostPort): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${String(address.port)}`;
}

/**
 * How the executor calls `name` itself in a graph of direct hops: none in a
 * graph of Envoy hops, nor for nested graphs, which are called through
 * Envoy on their own public path with their own plan.
 */
export function directHop(graph: GraphModel, name: string, node: NodeModel): DirectHop | undefined {
  if (graph.hops !== 'direct' || !hasEndpoint(node)) return undefined;
  const endpoints = endpointsOf(graph, node);
  // A Kubernetes Service's endpoints come over EDS, not in the plan: its node is called through Envoy.
  if (endpoints.kind !== 'static' && endpoints.kind !== 'dns') return undefined;
  const scheme = endpoints.kind === 'dns' && endpoints.tls ? 'https' : 'http';
  const retries = retryPlan(node.retries);
  return {
    origins: endpoints.addresses.map((address) => origin(scheme, address)),
    path: nodePath(node.protocol ?? graph.protocol, node.kind, node.model ?? name),
    ...(retries && { retries }),
  };
}
