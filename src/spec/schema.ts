import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { UINT32_MAX } from './limits.ts';

/**
 * The user-facing InferenceGraph spec (switchyard.io/v1alpha1), defined once.
 * TypeScript types, runtime validation and the CRD's OpenAPI schema all
 * derive from these TypeBox schemas; semantic checks that a JSON schema
 * cannot express (references, cycles, weights summing to zero) live in
 * ./semantics.ts.
 */

export const API_VERSION = 'switchyard.io/v1alpha1';
export const KIND = 'InferenceGraph';

const strict = { additionalProperties: false } as const;

/** "250ms", "2s", "1.5s", "1m": the units ops teams already use in Kubernetes and Envoy. */
export const DurationString = Type.String({
  pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$',
  description: 'A duration such as "250ms", "2s", "1.5s" or "1m".',
  examples: ['250ms', '2s'],
});

/** A DNS-1123 label: graph and node names become parts of Envoy resource names and paths. */
export const Name = Type.String({
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  maxLength: 63,
  description: 'Lowercase letters, digits and "-", starting and ending with a letter or digit.',
});

/**
 * A node's name: what Kubernetes accepts as the name part of a qualified name
 * (label keys and values), which covers KServe's and Seldon's step and node
 * names ("model_a", "Classifier.v2"). Node names become parts of Envoy
 * resource and stat names and of hop paths, where all of these characters
 * stand as they are; no "/" (it separates namespace, graph and node).
 */
export const NodeName = Type.String({
  pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
  maxLength: 63,
  description:
    'Letters, digits, "-", "_" and ".", starting and ending with a letter or digit, at most 63.',
});

export const Protocol = Type.Union(
  [Type.Literal('v1'), Type.Literal('v2'), Type.Literal('seldon')],
  {
    description: 'v1: KServe V1, v2: Open Inference Protocol V2, seldon: Seldon protocol.',
  },
);

/** A Service's port: its number, or its name (an IANA service name, as Kubernetes spells them). */
export const ServicePort = Type.Union(
  [
    Type.Integer({ minimum: 1, maximum: 65535 }),
    Type.String({
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      maxLength: 15,
      description: 'A port name: lowercase letters, digits and "-", at most 15.',
    }),
  ],
  { description: "The Service's port, by number (its port, not the pods') or by name." },
);

export const ServiceReference = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$',
      maxLength: 63,
      description:
        'The Service\'s name: lowercase letters, digits and "-", starting with a letter.',
    }),
    namespace: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        maxLength: 63,
        description:
          "The Service's namespace; default the graph's. Another namespace must allow it with a ReferenceGrant.",
      }),
    ),
    port: ServicePort,
  },
  {
    ...strict,
    description:
      "A Kubernetes Service: the node's endpoints are the ready endpoints of its EndpointSlices, followed as pods come and go.",
  },
);

export const Endpoint = Type.Object(
  {
    addresses: Type.Optional(
      Type.Array(Type.String({ description: '"host:port"' }), {
        minItems: 1,
        description: 'Static upstream addresses, "host:port" each.',
      }),
    ),
    url: Type.Optional(
      Type.String({ description: 'http://host:port: one upstream, resolved by DNS.' }),
    ),
    service: Type.Optional(ServiceReference),
  },
  {
    ...strict,
    description: 'Where the node is served: exactly one of addresses, url or service.',
  },
);

export const RetryOn = Type.Union(
  [
    Type.Literal('5xx'),
    Type.Literal('gateway-error'),
    Type.Literal('reset'),
    Type.Literal('connect-failure'),
    Type.Literal('retriable-4xx'),
    Type.Literal('refused-stream'),
  ],
  { description: 'Failure classes that trigger a retry (Envoy x-envoy-retry-on policies).' },
);

export const Retries = Type.Object(
  {
    attempts: Type.Integer({
      minimum: 0,
      maximum: 10,
      description: 'Retries after the first try.',
    }),
    perTryTimeout: Type.Optional(DurationString),
    on: Type.Optional(Type.Array(RetryOn, { minItems: 1, uniqueItems: true })),
  },
  strict,
);

/** A count Envoy keeps in a uint32: past its largest value it would wrap around to 0. */
const count = (minimum: number) => Type.Integer({ minimum, maximum: UINT32_MAX });

export const CircuitBreaker = Type.Object(
  {
    maxConnections: Type.Optional(count(1)),
    maxPendingRequests: Type.Optional(count(1)),
    maxRequests: Type.Optional(count(1)),
    maxRetries: Type.Optional(count(0)),
  },
  strict,
);

export const OutlierDetection = Type.Object(
  {
    consecutive5xx: Type.Optional(count(1)),
    interval: Type.Optional(DurationString),
    baseEjectionTime: Type.Optional(DurationString),
    maxEjectionPercent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  strict,
);

/**
 * A model's name as it stands in its server's URL path (/v2/models/NAME/infer):
 * the characters a path segment may hold as they are, anything else
 * percent-encoded. Refused rather than encoded for the user: "a%20b" and
 * "a b" would otherwise name the same model, and which one a server means is
 * the user's to say.
 */
export const ModelName = Type.String({
  minLength: 1,
  pattern: "^(?!\\.{1,2}$)(?:[-A-Za-z0-9._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$",
  description:
    "The model's name on its server, as it appears in the URL path (other characters percent-encoded); defaults to the node's name.",
});

/** Settings every step has, whatever its kind. */
const stepSettings = {
  timeout: Type.Optional(DurationString),
  retries: Type.Optional(Retries),
  dependency: Type.Optional(
    Type.Union([Type.Literal('hard'), Type.Literal('soft')], {
      description: 'soft: a failure is recorded, not fatal to the graph. Default hard.',
    }),
  ),
  propagateHeaders: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true })),
};

/** Settings of a step that calls a user endpoint. */
const endpointSettings = {
  ...stepSettings,
  endpoint: Endpoint,
  protocol: Type.Optional(Protocol),
  model: Type.Optional(ModelName),
  binaryTensors: Type.Optional(
    Type.Boolean({
      description:
        "V2 only: whether the node's server takes the binary tensor data extension (KServe, Triton do; MLServer does not). When false, binary tensors reach it as JSON. Default true.",
    }),
  ),
  circuitBreaker: Type.Optional(CircuitBreaker),
  outlierDetection: Type.Optional(OutlierDetection),
};

const NodeRef = Type.String({
  minLength: 1,
  description: 'The name of another node of this graph.',
});

export const ModelNode = Type.Object({ kind: Type.Literal('model'), ...endpointSettings }, strict);

export const TransformerNode = Type.Object(
  { kind: Type.Literal('transformer'), ...endpointSettings, to: NodeRef },
  strict,
);

export const OutputTransformerNode = Type.Object(
  { kind: Type.Literal('output-transformer'), ...endpointSettings, to: NodeRef },
  strict,
);

export const RouterNode = Type.Object(
  {
    kind: Type.Literal('router'),
    ...endpointSettings,
    children: Type.Array(NodeRef, { minItems: 1 }),
    then: Type.Optional(NodeRef),
  },
  strict,
);

export const CombinerInput = Type.Union(
  [Type.Literal('responses'), Type.Literal('inference-request')],
  {
    description:
      'What the combiner receives. responses (default): {"responses": [{"name", "response"}]} in its protocol (Seldon: {"seldonMessages": [...]}). inference-request (V2 only): one inference request whose inputs are the children\'s outputs, named "<child>.<output>", so any Open Inference Protocol server can combine.',
  },
);

export const CombinerNode = Type.Object(
  {
    kind: Type.Literal('combiner'),
    ...endpointSettings,
    combinerInput: Type.Optional(CombinerInput),
  },
  strict,
);

export const SplitRoute = Type.Object(
  {
    to: NodeRef,
    weight: Type.Integer({
      minimum: 0,
      maximum: UINT32_MAX,
      description: 'Relative weight; weights need not sum to 100.',
    }),
  },
  strict,
);

export const SplitterNode = Type.Object(
  {
    kind: Type.Literal('splitter'),
    ...stepSettings,
    routes: Type.Array(SplitRoute, { minItems: 1 }),
    stickyHeader: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Requests with the same value of this header always take the same route.',
      }),
    ),
  },
  strict,
);

const matchOperators = {
  equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  in: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number()]), { minItems: 1 })),
  prefix: Type.Optional(Type.String({ minLength: 1 })),
  regex: Type.Optional(Type.String({ minLength: 1 })),
  present: Type.Optional(Type.Boolean()),
  gt: Type.Optional(Type.Number()),
  gte: Type.Optional(Type.Number()),
  lt: Type.Optional(Type.Number()),
  lte: Type.Optional(Type.Number()),
};

export const SwitchCondition = Type.Object(
  {
    header: Type.Optional(Type.String({ minLength: 1 })),
    query: Type.Optional(Type.String({ minLength: 1 })),
    body: Type.Optional(
      Type.String({ pattern: '^\\$', description: 'A JSON path into the payload, e.g. "$.tier".' }),
    ),
    ...matchOperators,
    cel: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A CEL expression over body (the payload as JSON), headers and query (maps of strings); true means the case matches.',
      }),
    ),
  },
  {
    ...strict,
    description: 'Exactly one of header, query or body with exactly one operator, or cel alone.',
  },
);

export const SwitchCase = Type.Object({ when: SwitchCondition, to: NodeRef }, strict);

export const SwitchNode = Type.Object(
  {
    kind: Type.Literal('switch'),
    ...stepSettings,
    cases: Type.Array(SwitchCase, { minItems: 1 }),
    default: Type.Optional(NodeRef),
  },
  strict,
);

export const MirrorNode = Type.Object(
  {
    kind: Type.Literal('mirror'),
    ...stepSettings,
    to: NodeRef,
    shadow: NodeRef,
    percent: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 100,
        description: 'Share of requests copied to the shadow, in percent. Default 100.',
      }),
    ),
  },
  strict,
);

export const SequenceStep = Type.Object(
  {
    node: NodeRef,
    input: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          '"request" (the original request), "previous" (default), or an earlier step\'s node name.',
      }),
    ),
    /** The step runs only when this holds on the previous step's answer; else the sequence ends with it. */
    when: Type.Optional(SwitchCondition),
  },
  strict,
);

export const SequenceNode = Type.Object(
  {
    kind: Type.Literal('sequence'),
    ...stepSettings,
    steps: Type.Array(SequenceStep, { minItems: 1 }),
    stopWhen: Type.Optional(SwitchCondition),
  },
  strict,
);

export const BuiltinCombiner = Type.Union(
  [
    Type.Literal('merge'),
    Type.Literal('concat'),
    Type.Literal('mean'),
    Type.Literal('vote'),
    Type.Literal('first-success'),
  ],
  { description: "A built-in way to combine the children's answers." },
);

export const EnsembleNode = Type.Object(
  {
    kind: Type.Literal('ensemble'),
    ...stepSettings,
    children: Type.Array(NodeRef, { minItems: 1 }),
    combine: Type.Optional(BuiltinCombiner),
    combiner: Type.Optional(NodeRef),
    then: Type.Optional(NodeRef),
  },
  { ...strict, description: 'Exactly one of combine (built-in) or combiner (a combiner node).' },
);

export const SubgraphNode = Type.Object(
  {
    kind: Type.Literal('graph'),
    ...stepSettings,
    graph: Name,
    protocol: Type.Optional(
      Type.Union([Type.Literal('v1'), Type.Literal('v2'), Type.Literal('seldon')], {
        description: "The protocol the other graph is called with; default this graph's.",
      }),
    ),
  },
  strict,
);

/** Each kind's schema, looked up by the node's `kind` so errors speak of that kind alone. */
export const nodeSchemas = {
  model: ModelNode,
  transformer: TransformerNode,
  'output-transformer': OutputTransformerNode,
  router: RouterNode,
  combiner: CombinerNode,
  splitter: SplitterNode,
  switch: SwitchNode,
  mirror: MirrorNode,
  sequence: SequenceNode,
  ensemble: EnsembleNode,
  graph: SubgraphNode,
} as const satisfies Record<string, TSchema>;

export type NodeKind = keyof typeof nodeSchemas;

export const NodeSpec = Type.Union(Object.values(nodeSchemas));

/** Where sampled payloads go: an HTTP endpoint (one CloudEvent per POST) or a file (a JSON line per event). */
export const PayloadLogSink = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'http:// or https:// URL: each event is POSTed in CloudEvents binary mode (ce-* headers, the payload as the body).',
      }),
    ),
    file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "An absolute path on the executor's host: each event is appended as one line of a CloudEvent in structured (JSON) mode.",
      }),
    ),
  },
  { ...strict, description: 'Exactly one of url or file.' },
);

export const PayloadLog = Type.Object(
  {
    sample: Type.Number({
      minimum: 0,
      maximum: 1,
      description: "Share of the graph's requests whose request and answer are logged, 0 to 1.",
    }),
    sink: PayloadLogSink,
  },
  {
    ...strict,
    description:
      "Logs a sample of the graph's requests and answers as CloudEvents (io.switchyard.inference.request and .response). Off when absent: nothing else ever logs a payload.",
  },
);

export const GraphSpecBody = Type.Object(
  {
    entry: NodeRef,
    host: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The Host the graph answers on ("*" or a DNS name, "*.example.com" allowed). Default "*".',
      }),
    ),
    protocol: Type.Optional(Protocol),
    timeout: Type.Optional(DurationString),
    propagateHeaders: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true }),
    ),
    returnOutputs: Type.Optional(
      Type.Array(NodeRef, {
        uniqueItems: true,
        description: "Nodes whose outputs are returned beside the graph's answer.",
      }),
    ),
    maxRequestBytes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1073741824,
        description: 'Largest request body the graph accepts; larger ones get 413. Default 10 MiB.',
      }),
    ),
    explainer: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'V1 graphs: the model node that answers /v1/models/<graph>:explain, on its own :explain path.',
      }),
    ),
    hops: Type.Optional(
      Type.Union([Type.Literal('envoy'), Type.Literal('direct')], {
        description:
          "How the executor calls the graph's nodes. envoy (default): through Envoy, which applies each node's retries, outlier detection, circuit breakers, stats and TLS. direct: the executor calls the nodes' addresses itself (timeouts and retries kept; no outlier detection, circuit breakers or per-hop Envoy stats): fewer passes through Envoy.",
      }),
    ),
    payloadLog: Type.Optional(PayloadLog),
    nodes: Type.Record(Type.String(), NodeSpec, { minProperties: 1 }),
  },
  strict,
);

export const Metadata = Type.Object(
  {
    name: Name,
    namespace: Type.Optional(Name),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  // Kubernetes adds fields of its own (uid, resourceVersion, ...) that are not ours to reject.
  { additionalProperties: true },
);

export const InferenceGraphDocument = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(KIND),
    metadata: Metadata,
    spec: GraphSpecBody,
  },
  { additionalProperties: true },
);

export type Duration = Static<typeof DurationString>;
export type Protocol = Static<typeof Protocol>;
export type HopsMode = NonNullable<Static<typeof GraphSpecBody>['hops']>;
export type Endpoint = Static<typeof Endpoint>;
export type PayloadLog = Static<typeof PayloadLog>;
export type ServiceReference = Static<typeof ServiceReference>;
export type Retries = Static<typeof Retries>;
export type RetryOn = Static<typeof RetryOn>;
export type CircuitBreaker = Static<typeof CircuitBreaker>;
export type OutlierDetection = Static<typeof OutlierDetection>;
export type SwitchCondition = Static<typeof SwitchCondition>;
export type SwitchCase = Static<typeof SwitchCase>;
export type SplitRoute = Static<typeof SplitRoute>;
export type SequenceStep = Static<typeof SequenceStep>;
export type BuiltinCombiner = Static<typeof BuiltinCombiner>;
export type CombinerInput = Static<typeof CombinerInput>;
export type ModelNode = Static<typeof ModelNode>;
export type TransformerNode = Static<typeof TransformerNode>;
export type OutputTransformerNode = Static<typeof OutputTransformerNode>;
export type RouterNode = Static<typeof RouterNode>;
export type CombinerNode = Static<typeof CombinerNode>;
export type SplitterNode = Static<typeof SplitterNode>;
export type SwitchNode = Static<typeof SwitchNode>;
export type MirrorNode = Static<typeof MirrorNode>;
export type SequenceNode = Static<typeof SequenceNode>;
export type EnsembleNode = Static<typeof EnsembleNode>;
export type SubgraphNode = Static<typeof SubgraphNode>;
export type NodeSpec = Static<typeof NodeSpec>;
export type GraphSpecBody = Static<typeof GraphSpecBody>;
export type InferenceGraphDocument = Static<typeof InferenceGraphDocument>;
