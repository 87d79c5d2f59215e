import type { NodeKind, Protocol } from '../spec/schema.ts';

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

/**
 * The path a node of `kind` answers on. V1 and V2 nodes of every kind speak
 * the inference API of their `model` name; Seldon components each have the
 * endpoint of their role in the Seldon microservice API.
 */
export function nodePath(protocol: Protocol, kind: NodeKind, model: string): string {
  if (protocol !== 'seldon') return modelInferencePath(protocol, model);
  switch (kind) {
    case 'transformer':
      return '/transform-input';
    case 'output-transformer':
      return '/transform-output';
    case 'router':
      return '/route';
    case 'combiner':
      return '/aggregate';
    default:
      return modelInferencePath(protocol, model);
  }
}

/** Seldon's feedback API: reward and truth for an earlier prediction, sent on along its routing. */
export const SELDON_FEEDBACK_PATH = '/api/v1.0/feedback';

/** Where a Seldon component takes feedback. */
export const SELDON_SEND_FEEDBACK_PATH = '/send-feedback';
