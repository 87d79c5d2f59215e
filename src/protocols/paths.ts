import type { Protocol } from '../spec/schema.ts';

/**
 * The inference path a client calls for a graph, per protocol. V1 and V2
 * name the graph in the path; the Seldon protocol does not, so a Seldon
 * graph owns /api/v1.0/predictions on its host.
 */
export function publicInferencePath(protocol: Protocol, graph: string): string {
  switch (protocol) {
    case 'v1':
      return `/v1/models/${graph}:predict`;
    case 'v2':
      return `/v2/models/${graph}/infer`;
    case 'seldon':
      return '/api/v1.0/predictions';
  }
}

/** The path a model server answers inference on, per protocol. */
export function modelInferencePath(protocol: Protocol, model: string): string {
  return publicInferencePath(protocol, model);
}
