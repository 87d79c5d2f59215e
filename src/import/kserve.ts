import type {
  EnsembleNode,
  InferenceGraphDocument,
  NodeSpec,
  Protocol,
  SequenceStep,
} from '../spec/schema.ts';
import { API_VERSION, KIND } from '../spec/schema.ts';
import { gjsonToCel } from './gjson.ts';
import { NodeNames } from './names.ts';
import { Refused, type ImportNote, type ImportOptions, type ServiceAddress } from './result.ts';

/**
 * KServe's InferenceGraph (serving.kserve.io/v1alpha1) as a Switchyard
 * graph that behaves as KServe's router does (cmd/router/main.go); each
 * rule and where it comes from: docs/decisions/0037-importing-kserve-and-seldon.md.
 */

export const KSERVE_GRAPH_API = 'serving.kserve.io/v1alpha1';

type Json = Record<string, unknown>;

interface Step {
  readonly name?: string;
  readonly nodeName?: string;
  readonly serviceName?: string;
  readonly serviceUrl?: string;
  readonly data?: string;
  readonly weight?: number;
  readonly condition?: string;
  readonly dependency?: string;
}

interface Router {
  readonly routerType: string;
  readonly steps: readonly Step[];
}

/** What the InferenceService controller reads of an InferenceService (GetPredictorEndpoint). */
export interface InferenceServiceInfo {
  readonly protocol: Protocol;
  readonly model: string;
  /** The component the ISVC's address leads to: the transformer when there is one. */
  readonly component: 'predictor' | 'transformer';
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `--model_name X`, `--model_name=X` or `--model-name...`: how KServe servers are told their model's name. */
function modelNameFromArgs(args: unknown): string | undefined {
  if (!Array.isArray(args)) return undefined;
  let name: string | undefined;
  args.forEach((arg, index) => {
    if (typeof arg !== 'string' || !/^--model[_-]name/.test(arg)) return;
    const [, value] = arg.split('=');
    if (value !== undefined) name = value;
    const next: unknown = args[index + 1];
    if (typeof next === 'string' && !next.startsWith('--')) name = next;
  });
  return name;
}

/** The protocol and model name of an InferenceService, as KServe's GetPredictorEndpoint reads them. */
export function inferenceServiceInfo(object: Json): InferenceServiceInfo | undefined {
  const metadata = isJson(object.metadata) ? object.metadata : {};
  const name = text(metadata.name);
  const spec = isJson(object.spec) ? object.spec : {};
  if (name === undefined) return undefined;
  const component = isJson(spec.transformer) ? 'transformer' : 'predictor';
  const part = isJson(spec[component]) ? spec[component] : {};
  // The implementation is the one framework field set (model, sklearn, ...) or the first container.
  const implementation = Object.values(part).find(
    (value): value is Json => isJson(value) && ('protocolVersion' in value || 'args' in value),
  );
  const containers = Array.isArray(part.containers) ? part.containers.filter(isJson) : [];
  const protocolText = text(implementation?.protocolVersion);
  const env = Array.isArray(implementation?.env) ? implementation.env.filter(isJson) : [];
  const mlserverName = text(env.find((e) => e.name === 'MLSERVER_MODEL_NAME')?.value);
  const model =
    modelNameFromArgs(containers[0]?.args) ??
    mlserverName ??
    modelNameFromArgs(implementation?.args) ??
    name;
  return { protocol: protocolText === 'v2' ? 'v2' : 'v1', model, component };
}

/** KServe's predict path: the protocol and model a serviceUrl's path names. */
function pathTarget(path: string): { protocol: Protocol; model: string } | undefined {
  const v1 = /^\/v1\/models\/([^/]+):predict$/.exec(path);
  if (v1?.[1] !== undefined) return { protocol: 'v1', model: decodeURIComponent(v1[1]) };
  const v2 = /^\/v2\/models\/([^/]+)\/infer$/.exec(path);
  if (v2?.[1] !== undefined) return { protocol: 'v2', model: decodeURIComponent(v2[1]) };
  return undefined;
}

function readSteps(value: unknown, at: string): Step[] {
  if (!Array.isArray(value)) return [];
  return value.map((raw, index) => {
    if (!isJson(raw))
      throw new Refused(`${at}.steps[${String(index)}]`, 'a step must be a mapping');
    const step: Record<string, string | number> = {};
    for (const key of [
      'name',
      'nodeName',
      'serviceName',
      'serviceUrl',
      'data',
      'condition',
      'dependency',
    ]) {
      const value = text(raw[key]);
      if (value !== undefined) step[key] = value;
    }
    if (typeof raw.weight === 'number') step.weight = raw.weight;
    return step;
  });
}

class KserveImport {
  readonly #nodes = new Map<string, NodeSpec>();
  readonly #names = new NodeNames();
  /** KServe node name → Switchyard node name. */
  readonly #routers = new Map<string, string>();
  readonly #services = new Map<string, string>();
  readonly #protocols = new Set<Protocol>();
  readonly notes: ImportNote[] = [];

  constructor(
    readonly source: string,
    readonly namespace: string,
    readonly spec: Map<string, Router>,
    readonly options: ImportOptions,
    readonly isvcs: ReadonlyMap<string, InferenceServiceInfo>,
  ) {}

  note(path: string, message: string): void {
    this.notes.push({ source: this.source, path, message });
  }

  /** Every KServe node name is claimed first, as it is where Switchyard takes it. */
  claimRouterNames(): void {
    for (const name of this.spec.keys()) if (this.#names.free(name)) this.#names.claim(name);
  }

  /** The Switchyard node that behaves as KServe's node `name`. */
  router(name: string, at: string): string {
    const known = this.#routers.get(name);
    if (known !== undefined) return known;
    const router = this.spec.get(name);
    if (!router) throw new Refused(at, `no node "${name}" in spec.nodes`);
    const own = this.#names.free(name) || this.#taken(name) ? name : this.#names.take(name);
    if (own !== name) this.note(`spec.nodes.${name}`, `node "${name}" is called "${own}"`);
    this.#routers.set(name, own);
    const path = `spec.nodes.${name}`;
    switch (router.routerType) {
      case 'Sequence':
        this.#nodes.set(own, this.#sequence(router.steps, path));
        break;
      case 'Switch':
        this.#nodes.set(own, this.#switch(router.steps, path));
        break;
      case 'Ensemble':
        this.#nodes.set(own, this.#ensemble(router.steps, path));
        break;
      case 'Splitter':
        this.#nodes.set(own, this.#splitter(router.steps, path));
        break;
      default:
        throw new Refused(`${path}.routerType`, `unknown routerType "${router.routerType}"`);
    }
    return own;
  }

  #taken(name: string): boolean {
    return this.spec.has(name) && ![...this.#routers.values()].includes(name);
  }

  /** The node a step calls: another KServe node, or a model for its service. */
  #target(step: Step, at: string, wanted?: string): string {
    if (step.nodeName !== undefined) return this.router(step.nodeName, `${at}.nodeName`);
    // The controller fills serviceUrl from serviceName only when serviceUrl is empty.
    if (step.serviceUrl !== undefined) return this.#serviceUrl(step.serviceUrl, at, wanted);
    if (step.serviceName !== undefined) return this.#serviceName(step.serviceName, at, wanted);
    throw new Refused(at, 'the step names no nodeName, serviceName or serviceUrl');
  }

  #model(key: string, wanted: string, address: ServiceAddress, protocol: Protocol, model: string) {
    const known = this.#services.get(key);
    if (known !== undefined && (wanted === known || !this.#names.free(wanted))) return known;
    const name = this.#names.free(wanted) ? wanted : this.#names.take(wanted);
    if (this.#names.free(name)) this.#names.claim(name);
    this.#services.set(key, name);
    this.#protocols.add(address.protocol ?? protocol);
    this.#nodes.set(name, {
      kind: 'model',
      endpoint: address.endpoint,
      protocol: address.protocol ?? protocol,
      model: address.model ?? model,
    });
    return name;
  }

  #serviceName(service: string, at: string, wanted?: string): string {
    const isvc = this.isvcs.get(service);
    const mapped = this.options.addresses?.get(service);
    const host = `${service}-${isvc?.component ?? 'predictor'}.${this.namespace}.svc.cluster.local`;
    const address: ServiceAddress = mapped ?? { endpoint: { url: `http://${host}` } };
    if (!mapped && !isvc) {
      this.note(
        `${at}.serviceName`,
        `InferenceService "${service}" is not among the files and has no --addresses entry: called as KServe's controller would (${host}, protocol v1, model "${service}")`,
      );
    }
    return this.#model(
      `service:${service}`,
      wanted ?? service,
      address,
      isvc?.protocol ?? 'v1',
      isvc?.model ?? service,
    );
  }

  #serviceUrl(url: string, at: string, wanted?: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Refused(`${at}.serviceUrl`, `"${url}" is not a URL`);
    }
    const target = pathTarget(parsed.pathname);
    if (!target || parsed.search !== '') {
      throw new Refused(
        `${at}.serviceUrl`,
        `KServe posts to "${url}" as it is; Switchyard calls a node on its protocol's inference path (/v1/models/<m>:predict or /v2/models/<m>/infer), which this path is not`,
      );
    }
    const mapped = this.options.addresses?.get(parsed.host);
    const address: ServiceAddress = mapped ?? {
      endpoint: { url: `${parsed.protocol}//${parsed.host}` },
    };
    return this.#model(
      `url:${url}`,
      wanted ?? target.model,
      address,
      target.protocol,
      target.model,
    );
  }

  #sequence(steps: readonly Step[], at: string): NodeSpec {
    if (steps.length === 0) throw new Refused(`${at}.steps`, 'a Sequence without steps');
    const out: SequenceStep[] = steps.map((step, index) => {
      const stepAt = `${at}.steps[${String(index)}]`;
      const node = this.#target(step, stepAt, step.name);
      // The router sends a step the original request unless it says $response (not the first).
      const input = step.data === '$response' && index > 0 ? 'previous' : 'request';
      if (step.data !== undefined && step.data !== '$request' && step.data !== '$response') {
        this.note(
          `${stepAt}.data`,
          `"${step.data}" is neither $request nor $response: KServe's router sends the original request, and so does the import`,
        );
      }
      const last = index === steps.length - 1;
      const soft = step.dependency !== 'Hard' && !last;
      if (soft && steps[index + 1]?.data === '$response') {
        this.note(
          `${stepAt}.dependency`,
          "soft step: when it fails, KServe's router sends its error answer on as the next step's input; Switchyard sends the input the failed step had",
        );
      }
      if (soft) {
        this.#soften(node);
        this.note(
          `${stepAt}.dependency`,
          "soft step: KServe's router carries on after a step that answered an error status, but fails on one it could not call or whose switch matched nothing; Switchyard carries on after any failure of a soft step but a deadline",
        );
      }
      const converted: SequenceStep = { node, input };
      if (step.condition === undefined || step.condition === '') return converted;
      if (index === 0) {
        throw new Refused(
          `${stepAt}.condition`,
          'a condition on the first step of a Sequence: KServe tests it on the previous answer, which the first step has none of, and answers every request 500',
        );
      }
      return { ...converted, when: { cel: this.#cel(step.condition, `${stepAt}.condition`) } };
    });
    return { kind: 'sequence', steps: out };
  }

  /** A step KServe carries on after a failure of: the node's failure is recorded, not fatal. */
  #soften(node: string): void {
    const spec = this.#nodes.get(node);
    if (spec) this.#nodes.set(node, { ...spec, dependency: 'soft' });
  }

  #cel(condition: string, at: string): string {
    const translated = gjsonToCel(condition);
    if ('unsupported' in translated) {
      throw new Refused(
        at,
        `the GJSON condition ${JSON.stringify(condition)}: ${translated.unsupported}`,
      );
    }
    return translated.cel;
  }

  #switch(steps: readonly Step[], at: string): NodeSpec {
    if (steps.length === 0) throw new Refused(`${at}.steps`, 'a Switch without steps');
    // The router tests each step's condition on the node's input and takes the first that exists;
    // none: 404. An empty condition is GJSON's path "" (the key ""), as the router reads it.
    return {
      kind: 'switch',
      cases: steps.map((step, index) => {
        const stepAt = `${at}.steps[${String(index)}]`;
        return {
          when: { cel: this.#cel(step.condition ?? '', `${stepAt}.condition`) },
          to: this.#target(step, stepAt, step.name),
        };
      }),
    };
  }

  #ensemble(steps: readonly Step[], at: string): NodeSpec {
    if (steps.length === 0) throw new Refused(`${at}.steps`, 'an Ensemble without steps');
    // The router answers {"<step name, else its index>": <the step's JSON answer>, ...}: Switchyard's
    // merge keys each answer by its node's name, so each child is a node of that name.
    const children = steps.map((step, index) => {
      const stepAt = `${at}.steps[${String(index)}]`;
      const key = step.name ?? String(index);
      const target = this.#target(step, stepAt, key);
      if (target === key) return key;
      // A node of another name answers under `key` through a one-step sequence named so.
      if (!this.#names.free(key)) {
        throw new Refused(
          stepAt,
          `the ensemble answers this step under "${key}", which another node of the graph is called`,
        );
      }
      this.#names.claim(key);
      this.#nodes.set(key, { kind: 'sequence', steps: [{ node: target, input: 'request' }] });
      return key;
    });
    const node: EnsembleNode = { kind: 'ensemble', children, combine: 'merge' };
    return node;
  }

  #splitter(steps: readonly Step[], at: string): NodeSpec {
    if (steps.length === 0) throw new Refused(`${at}.steps`, 'a Splitter without steps');
    const total = steps.reduce((sum, step) => sum + (step.weight ?? 0), 0);
    if (total !== 100) {
      this.note(
        `${at}.steps`,
        `the weights sum to ${String(total)}: KServe's router draws a point in [0, 100] and fails a request whose point no step covers; Switchyard's weights are relative`,
      );
    } else {
      this.note(
        `${at}.steps`,
        "KServe's router draws a point in [0, 100], of which 100 is covered by no step (that request fails, 1 in 101); Switchyard splits 100% over the steps",
      );
    }
    return {
      kind: 'splitter',
      routes: steps.map((step, index) => ({
        to: this.#target(step, `${at}.steps[${String(index)}]`, step.name),
        weight: step.weight ?? 0,
      })),
    };
  }

  converted(name: string): boolean {
    return this.#routers.has(name);
  }

  nodes(): Record<string, NodeSpec> {
    return Object.fromEntries([...this.#nodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  protocol(): Protocol {
    if (this.#protocols.size > 1) {
      this.note(
        'spec.nodes',
        "the graph calls both V1 and V2 services: KServe's router passes every body on unchanged, Switchyard adapts payloads between protocols on each edge",
      );
    }
    return this.#protocols.has('v2') && !this.#protocols.has('v1') ? 'v2' : 'v1';
  }
}

/** Whether `object` is a KServe InferenceGraph. */
export function isKserveGraph(object: unknown): object is Json {
  return (
    isJson(object) && object.apiVersion === KSERVE_GRAPH_API && object.kind === 'InferenceGraph'
  );
}

/** One KServe InferenceGraph in, its Switchyard graph (or the reason it has none) and notes out. */
export function importKserveGraph(
  object: Json,
  options: ImportOptions,
  isvcs: ReadonlyMap<string, InferenceServiceInfo>,
): { graph?: InferenceGraphDocument; notes: ImportNote[] } {
  const metadata = isJson(object.metadata) ? object.metadata : {};
  const name = text(metadata.name) ?? '';
  const namespace = options.namespace ?? text(metadata.namespace) ?? 'default';
  const source = `${KSERVE_GRAPH_API}/InferenceGraph ${namespace}/${name}`;
  const spec = isJson(object.spec) ? object.spec : {};
  const rawNodes = isJson(spec.nodes) ? spec.nodes : {};
  const routers = new Map<string, Router>();
  const notes: ImportNote[] = [];
  try {
    for (const [node, raw] of Object.entries(rawNodes)) {
      if (!isJson(raw)) throw new Refused(`spec.nodes.${node}`, 'a node must be a mapping');
      routers.set(node, {
        routerType: text(raw.routerType) ?? '',
        steps: readSteps(raw.steps, `spec.nodes.${node}`),
      });
    }
    if (!routers.has('root')) {
      throw new Refused(
        'spec.nodes',
        'no node "root": KServe\'s router starts every request there',
      );
    }
    const run = new KserveImport(source, namespace, routers, options, isvcs);
    run.claimRouterNames();
    const entry = run.router('root', 'spec.nodes.root');
    const dropped = [...routers.keys()].filter((node) => !run.converted(node));
    for (const node of dropped) {
      run.note(`spec.nodes.${node}`, 'not reachable from root: KServe never runs it either');
    }
    for (const key of Object.keys(spec)) {
      if (key !== 'nodes') {
        run.note(
          `spec.${key}`,
          "sizes or times KServe's router pod; Switchyard has no router pod (timeouts and retries are set per node)",
        );
      }
    }
    const protocol = run.protocol();
    notes.push(...run.notes);
    return {
      graph: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name, namespace },
        spec: { entry, protocol, nodes: run.nodes() },
      },
      notes,
    };
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    notes.push({ source, path: error.path, message: `not imported: ${error.message}` });
    return { notes };
  }
}
