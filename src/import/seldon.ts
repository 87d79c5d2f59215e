import { createHash } from 'node:crypto';
import type { InferenceGraphDocument, NodeSpec, Protocol } from '../spec/schema.ts';
import { API_VERSION, KIND } from '../spec/schema.ts';
import { NodeNames } from './names.ts';
import { Refused, type ImportNote, type ImportOptions, type ServiceAddress } from './result.ts';

/**
 * Seldon Core's SeldonDeployment (machinelearning.seldon.io v1, v1alpha2,
 * v1alpha3: the same graph fields) as a Switchyard graph that behaves as
 * Seldon's executor does (executor/predictor/predictor_process.go); each
 * rule and where it comes from: docs/decisions/0037-importing-kserve-and-seldon.md.
 */

const SELDON_GROUP = 'machinelearning.seldon.io/';
const SELDON_VERSIONS = ['v1', 'v1alpha2', 'v1alpha3'];

type Json = Record<string, unknown>;

interface Unit {
  readonly name: string;
  readonly type?: string;
  readonly implementation?: string;
  readonly methods: readonly string[];
  readonly children: readonly Unit[];
  readonly httpPort?: number;
  readonly parameters: readonly Json[];
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function readUnit(value: unknown, at: string): Unit {
  if (!isJson(value)) throw new Refused(at, 'a graph unit must be a mapping');
  const name = text(value.name);
  if (name === undefined) throw new Refused(`${at}.name`, 'a graph unit needs a name');
  const endpoint = isJson(value.endpoint) ? value.endpoint : {};
  const port = endpoint.httpPort ?? endpoint.service_port;
  const type = text(value.type);
  const implementation = text(value.implementation);
  return {
    name,
    ...(type !== undefined && { type }),
    ...(implementation !== undefined && { implementation }),
    methods: Array.isArray(value.methods) ? value.methods.filter((m) => typeof m === 'string') : [],
    children: Array.isArray(value.children)
      ? value.children.map((child, index) => readUnit(child, `${at}.children[${String(index)}]`))
      : [],
    ...(typeof port === 'number' && { httpPort: port }),
    parameters: Array.isArray(value.parameters) ? value.parameters.filter(isJson) : [],
  };
}

/** The operator's name of the Service in front of a unit's container (GetContainerServiceName). */
export function unitServiceName(deployment: string, predictor: string, unit: string): string {
  const name = `${deployment}-${predictor}-${unit}`;
  return name.length > 63 ? `seldon-${createHash('md5').update(name).digest('hex')}` : name;
}

/**
 * What the executor calls of a unit: transformInput (MODEL: predict,
 * TRANSFORMER or method TRANSFORM_INPUT: transform-input), then its
 * children (ROUTER or ROUTE: the one the router names, else all of them),
 * their answers aggregated (COMBINER or AGGREGATE: the combiner, else the
 * first child's), then transformOutput (OUTPUT_TRANSFORMER or TRANSFORM_OUTPUT).
 */
function roles(unit: Unit) {
  const has = (method: string) => unit.methods.includes(method);
  return {
    predict: unit.type === 'MODEL',
    transformInput: unit.type === 'TRANSFORMER' || has('TRANSFORM_INPUT'),
    route: unit.type === 'ROUTER' || has('ROUTE'),
    aggregate: unit.type === 'COMBINER' || has('AGGREGATE'),
    transformOutput: unit.type === 'OUTPUT_TRANSFORMER' || has('TRANSFORM_OUTPUT'),
  };
}

class SeldonImport {
  readonly #nodes = new Map<string, NodeSpec>();
  readonly names = new NodeNames();
  readonly notes: ImportNote[] = [];

  constructor(
    readonly source: string,
    readonly deployment: string,
    readonly namespace: string,
    readonly options: ImportOptions,
  ) {}

  note(path: string, message: string): void {
    this.notes.push({ source: this.source, path, message });
  }

  #endpoint(predictor: string, unit: Unit): ServiceAddress {
    // "<predictor>/<unit>" first: two predictors often name their units alike.
    const mapped =
      this.options.addresses?.get(`${predictor}/${unit.name}`) ??
      this.options.addresses?.get(unit.name);
    if (mapped) return mapped;
    const service = unitServiceName(this.deployment, predictor, unit.name);
    const port = unit.httpPort ?? 9000;
    return {
      endpoint: { url: `http://${service}.${this.namespace}.svc.cluster.local:${String(port)}` },
    };
  }

  addNode(name: string, node: NodeSpec): string {
    this.#nodes.set(name, node);
    return name;
  }

  /** A name for a unit: its own when free (Seldon's meta names units so), else a new one, noted. */
  #nameOf(unit: Unit, at: string): string {
    if (this.names.free(unit.name)) {
      this.names.claim(unit.name);
      return unit.name;
    }
    const name = this.names.take(unit.name);
    this.note(at, `unit "${unit.name}" is called "${name}" (the name is taken or not valid)`);
    return name;
  }

  /** The node that answers as Seldon's Predict(unit) does. */
  unit(unit: Unit, predictor: string, protocol: Protocol, at: string): string {
    const role = roles(unit);
    if (unit.implementation === 'RANDOM_ABTEST') return this.#abTest(unit, predictor, protocol, at);
    if (unit.type === undefined && unit.methods.length === 0 && unit.implementation !== undefined) {
      // Prepackaged servers (SKLEARN_SERVER, MLFLOW_SERVER, ...) are models served under the unit's name.
      return this.#leaf(unit, predictor, protocol, at, { ...role, predict: true });
    }
    return this.#leaf(unit, predictor, protocol, at, role);
  }

  #leaf(
    unit: Unit,
    predictor: string,
    protocol: Protocol,
    at: string,
    role: ReturnType<typeof roles>,
  ): string {
    const name = this.#nameOf(unit, at);
    const address = this.#endpoint(predictor, unit);
    const endpointSettings = {
      endpoint: address.endpoint,
      ...(address.protocol !== undefined &&
        address.protocol !== protocol && { protocol: address.protocol }),
      ...(address.model !== undefined && { model: address.model }),
    };
    const children = unit.children.map((child, index) =>
      this.unit(child, predictor, protocol, `${at}.children[${String(index)}]`),
    );
    const steps = [
      role.predict,
      role.transformInput,
      role.route,
      role.aggregate,
      role.transformOutput,
    ];
    if (steps.filter(Boolean).length !== 1) {
      throw new Refused(
        at,
        `unit "${unit.name}" (type ${unit.type ?? 'none'}, methods ${unit.methods.join(', ') || 'none'}) plays ${String(steps.filter(Boolean).length)} roles; the import carries over units of one role`,
      );
    }
    if (role.route) {
      if (children.length === 0) throw new Refused(at, `router "${unit.name}" has no children`);
      this.note(
        at,
        "a router answering -1 sends the request to every child: Seldon's executor answers the first child's answer, Switchyard merges the answers by child",
      );
      return this.addNode(name, { kind: 'router', ...endpointSettings, children });
    }
    if (role.aggregate) {
      if (children.length === 0) throw new Refused(at, `combiner "${unit.name}" has no children`);
      const ensemble = this.names.take(`${name}-children`);
      this.addNode(name, { kind: 'combiner', ...endpointSettings });
      return this.addNode(ensemble, { kind: 'ensemble', children, combiner: name });
    }
    const below = this.#children(children, name, at);
    if (role.predict) {
      const model = this.addNode(name, { kind: 'model', ...endpointSettings });
      if (below === undefined) return model;
      // A model with children predicts first; its answer is what the children get.
      const sequence = this.names.take(`${name}-then`);
      return this.addNode(sequence, {
        kind: 'sequence',
        steps: [{ node: model }, { node: below }],
      });
    }
    if (below === undefined) {
      throw new Refused(
        at,
        `${unit.type === 'OUTPUT_TRANSFORMER' ? 'output transformer' : 'transformer'} "${unit.name}" has no child to transform the request or answer of`,
      );
    }
    const kind = role.transformInput ? 'transformer' : 'output-transformer';
    return this.addNode(name, { kind, ...endpointSettings, to: below });
  }

  /** A unit's children without a router: all run, the first child's answer is taken. */
  #children(children: readonly string[], parent: string, at: string): string | undefined {
    if (children.length <= 1) return children[0];
    this.note(
      at,
      "several children without a router or combiner: Seldon's executor runs all and answers the first child's answer, failing if any fails; Switchyard's first-success answers the first that succeeds",
    );
    return this.addNode(this.names.take(`${parent}-children`), {
      kind: 'ensemble',
      children: [...children],
      combine: 'first-success',
    });
  }

  /** Seldon's built-in A/B router: child 0 with probability ratioA (default 0.5), else child 1. */
  #abTest(unit: Unit, predictor: string, protocol: Protocol, at: string): string {
    if (unit.children.length !== 2) {
      throw new Refused(at, `RANDOM_ABTEST "${unit.name}" needs exactly two children`);
    }
    const ratio = unit.parameters.find((p) => p.name === 'ratioA');
    const ratioA = ratio === undefined ? 0.5 : Number(ratio.value);
    if (!(ratioA >= 0 && ratioA <= 1))
      throw new Refused(at, `ratioA ${String(ratio?.value)} is not in [0, 1]`);
    const name = this.#nameOf(unit, at);
    const children = unit.children.map((child, index) =>
      this.unit(child, predictor, protocol, `${at}.children[${String(index)}]`),
    );
    const a = Math.round(ratioA * 1_000_000);
    return this.addNode(name, {
      kind: 'splitter',
      routes: [
        { to: children[0] ?? '', weight: a },
        { to: children[1] ?? '', weight: 1_000_000 - a },
      ],
    });
  }

  nodes(): Record<string, NodeSpec> {
    return Object.fromEntries([...this.#nodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  nodeKind(name: string): NodeSpec['kind'] | undefined {
    return this.#nodes.get(name)?.kind;
  }
}

/** Whether `object` is a SeldonDeployment of a version whose graph the import reads. */
export function isSeldonDeployment(object: unknown): object is Json {
  return (
    isJson(object) &&
    object.kind === 'SeldonDeployment' &&
    typeof object.apiVersion === 'string' &&
    object.apiVersion.startsWith(SELDON_GROUP) &&
    SELDON_VERSIONS.includes(object.apiVersion.slice(SELDON_GROUP.length))
  );
}

function protocolOf(spec: Json): Protocol {
  const protocol = text(spec.protocol) ?? 'seldon';
  if (protocol === 'seldon') return 'seldon';
  if (protocol === 'kfserving' || protocol === 'v2') return 'v2';
  throw new Refused('spec.protocol', `the ${protocol} protocol is not one Switchyard speaks`);
}

/** One SeldonDeployment in, its Switchyard graph (or the reason it has none) and notes out. */
export function importSeldonDeployment(
  object: Json,
  options: ImportOptions,
): { graph?: InferenceGraphDocument; notes: ImportNote[] } {
  const metadata = isJson(object.metadata) ? object.metadata : {};
  const name = text(metadata.name) ?? '';
  const namespace = options.namespace ?? text(metadata.namespace) ?? 'default';
  const source = `${String(object.apiVersion)}/SeldonDeployment ${namespace}/${name}`;
  const spec = isJson(object.spec) ? object.spec : {};
  const run = new SeldonImport(source, name, namespace, options);
  try {
    const protocol = protocolOf(spec);
    if (text(spec.transport) === 'grpc' || text(spec.serverType) === 'kafka') {
      throw new Refused('spec', 'gRPC and Kafka deployments: Switchyard serves REST');
    }
    const predictors = Array.isArray(spec.predictors) ? spec.predictors.filter(isJson) : [];
    if (predictors.length === 0) throw new Refused('spec.predictors', 'no predictors');
    const served: { to: string; weight: number; at: string }[] = [];
    let shadow: { to: string; percent: number; at: string } | undefined;
    predictors.forEach((predictor, index) => {
      const at = `spec.predictors[${String(index)}]`;
      const predictorName = text(predictor.name) ?? String(index);
      const root = run.unit(
        readUnit(predictor.graph, `${at}.graph`),
        predictorName,
        protocol,
        `${at}.graph`,
      );
      if (isJson(predictor.explainer)) run.note(`${at}.explainer`, 'explainers are not imported');
      const traffic = typeof predictor.traffic === 'number' ? predictor.traffic : 0;
      if (predictor.shadow === true) {
        // Istio mirrors the shadow predictor every request; a traffic set on it is its share.
        shadow = { to: root, percent: traffic > 0 && traffic <= 100 ? traffic : 100, at };
      } else served.push({ to: root, weight: traffic, at });
    });
    let entry: string;
    const [only] = served;
    if (served.length === 1 && only) entry = only.to;
    else if (served.length === 0) throw new Refused('spec.predictors', 'only a shadow predictor');
    else {
      // Istio routes by the predictors' traffic weights (they sum to 100, the webhook checks).
      entry = run.addNode(run.names.take(`${name}-traffic`), {
        kind: 'splitter',
        routes: served.map((s) => ({ to: s.to, weight: s.weight })),
      });
    }
    if (shadow) {
      if (run.nodeKind(shadow.to) !== 'model') {
        throw new Refused(
          `${shadow.at}.graph`,
          "the shadow predictor's graph is not a single model: Switchyard mirrors to a model",
        );
      }
      entry = run.addNode(run.names.take(`${name}-shadow`), {
        kind: 'mirror',
        to: entry,
        shadow: shadow.to,
        percent: shadow.percent,
      });
    }
    return {
      graph: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name, namespace },
        spec: { entry, protocol, nodes: run.nodes() },
      },
      notes: run.notes,
    };
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    return {
      notes: [
        ...run.notes,
        { source, path: error.path, message: `not imported: ${error.message}` },
      ],
    };
  }
}
