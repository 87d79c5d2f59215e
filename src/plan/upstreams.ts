import type { GraphModel, NodeModel, NodeOfKind } from '../graph/model.ts';
import { graphNamespace } from '../graph/services.ts';
import { nodeReadinessPath, publicReadinessPath } from '../protocols/paths.ts';
import { isIpAddress, parseEndpointUrl, parseHostPort, type HostPort } from '../spec/address.ts';
import type { UpstreamPlan } from './types.ts';

/** Envoy's own defaults, written out so the compiled config says what it does. */
const defaultCircuitBreaker = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

type EndpointNode = Extract<NodeModel, { endpoint: unknown }>;

export function hasEndpoint(node: NodeModel): node is EndpointNode {
  return 'endpoint' in node;
}

export function graphId(graph: GraphModel): string {
  return `${graph.namespace ?? 'default'}/${graph.name}`;
}

export function upstreamId(graph: GraphModel, node: string): string {
  return `${graphId(graph)}/${node}`;
}

/** The graph an upstream id names ("<namespace>/<name>/<node>"); none for ids of other shapes. */
export function graphOfUpstream(id: string): string | undefined {
  const node = id.lastIndexOf('/');
  // Namespaces, graph and node names hold no "/": exactly two slashes make an upstream id.
  return node > 0 && id.indexOf('/') < node && id.indexOf('/', id.indexOf('/') + 1) === node
    ? id.slice(0, node)
    : undefined;
}

export function endpointsOf(graph: GraphModel, node: EndpointNode): UpstreamPlan['endpoints'] {
  const service = node.endpoint.service;
  if (service) {
    return {
      kind: 'service',
      namespace: service.namespace ?? graphNamespace(graph),
      name: service.name,
      port: service.port,
    };
  }
  if (node.endpoint.url !== undefined) {
    const url = parseEndpointUrl(node.endpoint.url);
    // The spec layer rejected malformed URLs; a model that got here has a valid one.
    if (!url) throw new Error(`unvalidated endpoint url ${node.endpoint.url}`);
    return { kind: 'dns', addresses: [{ host: url.host, port: url.port }], tls: url.tls };
  }
  const addresses: HostPort[] = (node.endpoint.addresses ?? []).map((text) => {
    const address = parseHostPort(text);
    if (!address) throw new Error(`unvalidated endpoint address ${text}`);
    return address;
  });
  // EDS carries IP addresses only; names need Envoy's own DNS resolution.
  return addresses.every((a) => isIpAddress(a.host))
    ? { kind: 'static', addresses }
    : { kind: 'dns', addresses, tls: false };
}

export function planUpstream(graph: GraphModel, name: string, node: EndpointNode): UpstreamPlan {
  const outlier = node.outlierDetection;
  const protocol = node.protocol ?? graph.protocol;
  return {
    id: upstreamId(graph, name),
    graph: graphId(graph),
    node: name,
    protocol,
    endpoints: endpointsOf(graph, node),
    healthCheckPath: nodeReadinessPath(protocol, node.model ?? name),
    circuitBreaker: { ...defaultCircuitBreaker, ...node.circuitBreaker },
    ...(outlier && {
      outlierDetection: {
        consecutive5xx: outlier.consecutive5xx ?? 5,
        intervalMs: outlier.intervalMs ?? 10_000,
        baseEjectionTimeMs: outlier.baseEjectionTimeMs ?? 30_000,
        maxEjectionPercent: outlier.maxEjectionPercent ?? 10,
      },
    }),
  };
}

/**
 * A nested graph's readiness, as an upstream of its own: Envoy's graph
 * listener, health-checked on the nested graph's readiness path, so the
 * graph that nests it is ready only while the nested one is.
 */
export function planNestedReadiness(
  graph: GraphModel,
  name: string,
  node: NodeOfKind<'graph'>,
): UpstreamPlan {
  const protocol = node.protocol ?? graph.protocol;
  return {
    id: upstreamId(graph, name),
    graph: graphId(graph),
    node: name,
    protocol,
    endpoints: { kind: 'listener' },
    healthCheckPath: publicReadinessPath(protocol, node.graph),
    circuitBreaker: defaultCircuitBreaker,
  };
}
