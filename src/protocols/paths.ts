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

/**
 * Where a graph answers whether it is ready, per protocol: the model
 * readiness path of V2 and V1 (a V1 model's status is its own path), and the
 * Seldon engine's readiness path on the graph's host.
 */
export function publicReadinessPath(protocol: Protocol, graph: string): string {
  switch (protocol) {
    case 'v1':
      return `/v1/models/${graph}`;
    case 'v2':
      return `/v2/models/${graph}/ready`;
    case 'seldon':
      return '/ready';
  }
}

/**
 * What a node's server answers 200 on while it can take requests: the model
 * readiness path of its protocol, or the ping every Seldon microservice has.
 */
export function nodeReadinessPath(protocol: Protocol, model: string): string {
  return protocol === 'seldon' ? '/health/ping' : publicReadinessPath(protocol, model);
}

/** KServe V1's explanation of a prediction, by the model's explainer. */
export function explainPath(model: string): string {
  return `/v1/models/${model}:explain`;
}

/**
 * The path Seldon's clients call through Seldon Core's gateway (SeldonClient's
 * default), naming the deployment instead of relying on the host.
 */
export function seldonGatewayPath(namespace: string, deployment: string, path: string): string {
  return `/seldon/${namespace}/${deployment}${path}`;
}

/** The Open Inference Protocol's server metadata. */
export const SERVER_METADATA_PATH = '/v2';

/** KServe V1's server liveness; also where KServe InferenceGraph clients send their requests. */
export const ROOT_PATH = '/';
