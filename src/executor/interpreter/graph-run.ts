import {
  NO_ENDPOINT_HEADER,
  type EnsembleStep,
  type ExecutionPlan,
  type HopCall,
  type RouterStep,
  type SequenceStep,
  type StepPlan,
} from '../../plan/execution.ts';
import { adaptRequest, adaptResponse } from '../../protocols/adapt.ts';
import {
  BINARY_CONTENT_TYPE,
  binaryOutputsAsked,
  encodeBinaryTensors,
  HEADER_LENGTH_HEADER,
  outputsEncodedAsAsked,
  readHeaderLength,
} from '../../protocols/binary-tensors.ts';
import { isRequestShaped, responseAsRequest } from '../../protocols/chain.ts';
import { isObject, type Json } from '../../protocols/json.ts';
import { parseRouterAnswer } from '../../protocols/router-answer.ts';
import {
  mergeMeta,
  readMeta,
  recordNode,
  recordRouting,
  withMeta,
  type SeldonMeta,
} from '../../protocols/seldon-meta.ts';
import type { Protocol } from '../../spec/schema.ts';
import {
  combine,
  combinerInferenceRequest,
  combinerRequest,
  identityFields,
  type ChildResult,
  type ChildTensors,
  type Identity,
} from './combiners.ts';
import { conditionHolds } from './conditions.ts';
import { HopTimeoutError, type HopAnswer, type Hops } from './hops.ts';
import { headerText } from '../../protocols/header-text.ts';
import { Payload } from './payload.ts';
import type { RunObserver } from './run-observer.ts';
import { excerpt, StepError } from './step-error.ts';

/** Trace context every hop gets, whatever the graph declares. */
const TRACE_HEADERS = [
  'traceparent',
  'tracestate',
  'x-request-id',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
];

/** Headers of a node's answer that describe its connection, not the answer. */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'date',
  'server',
  'x-envoy-upstream-service-time',
  HEADER_LENGTH_HEADER,
]);

/**
 * Keys whose bytes are looked for before a payload is parsed for them: most
 * payloads have none of them, and a search of the bytes costs far less.
 */
const KEYS = {
  binaryData: Buffer.from('"binary_data'),
  id: Buffer.from('"id"'),
  inputs: Buffer.from('"inputs"'),
  outputs: Buffer.from('"outputs"'),
  instances: Buffer.from('"instances"'),
  predictions: Buffer.from('"predictions"'),
};

export interface GraphRequest {
  /** Lowercased names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly query: URLSearchParams;
  readonly body: Buffer;
  readonly contentType: string;
}

export interface RunServices {
  readonly hops: Hops;
  /** Uniform in [0, 1): splits and mirror fractions. */
  readonly random: () => number;
  /** A fresh Seldon puid. */
  readonly newId: () => string;
  /** Who watches this run's node calls (metrics, traces); none when nothing is observed. */
  readonly observer?: RunObserver;
}

export type GraphResult =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers: readonly (readonly [string, string])[];
      readonly body: Buffer;
    }
  | {
      readonly kind: 'handoff';
      /** The value of the handoff route's dynamic-metadata match. */
      readonly key: string;
      readonly body: Buffer;
      readonly contentType: string;
      /** Length of the body's JSON part when binary tensors follow it (inference-header-content-length). */
      readonly headerLength?: number;
      /** Decisions taken on the way, for the x-switchyard-routing response header. */
      readonly routing: string;
      /** Soft failures on the way, for the x-switchyard-soft-failures response header. */
      readonly softFailures: string;
      /**
       * Whether the model is sent the client's own payload: only then is its
       * 400, 413, 415 or 422 the client's error (Envoy makes it a 502 otherwise).
       */
      readonly fromClient: boolean;
    };

type Role = 'request' | 'response';

/** A payload and whether it is a request or an answer: chaining turns answers into requests. */
interface Flow {
  readonly payload: Payload;
  readonly role: Role;
  /** The client's own request, as it came (splits, switches, routers and soft steps pass it on). */
  readonly fromClient?: true;
}

/**
 * What a node answers about the payload it was sent: the request is bad,
 * too large, of a type it does not take, or cannot be processed. Sent the
 * client's own payload, such an answer is the client's error and reaches the
 * client with its status; any other failure of a node is the graph's (502).
 */
const CLIENT_ERROR_STATUSES = new Set([400, 413, 415, 422]);

function isClientError(error: StepError): boolean {
  return error.status >= 400 && error.status < 500;
}

type StepResult =
  | { readonly kind: 'answer'; readonly flow: Flow }
  | {
      readonly kind: 'handoff';
      readonly key: string;
      readonly payload: Payload;
      readonly fromClient: boolean;
    };

function answer(flow: Flow): StepResult {
  return { kind: 'answer', flow };
}

function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 0x1_0000_0000;
}

/** One request's run through a plan. */
class GraphRun {
  readonly #plan: ExecutionPlan;
  readonly #request: GraphRequest;
  readonly #services: RunServices;
  /** When the graph's deadline passes, in Date.now() milliseconds. */
  readonly #deadlineAt: number;
  readonly #routing = new Map<string, string>();
  readonly #softFailures = new Map<string, string>();
  readonly #outputs = new Map<string, Flow>();
  #meta: SeldonMeta | undefined;
  /** The client's request: what is wrong with it is the client's error (400), not a node's. */
  #clientPayload: Payload | undefined;
  /** Which outputs the client asked for as binary tensors; read at most once. */
  #binaryAsked: ((output: string) => boolean) | undefined | null = null;

  constructor(plan: ExecutionPlan, request: GraphRequest, services: RunServices) {
    this.#plan = plan;
    this.#request = request;
    this.#services = services;
    this.#deadlineAt = Date.now() + plan.timeoutMs;
  }

  async run(): Promise<GraphResult> {
    const input: Flow = { payload: this.#clientRequest(), role: 'request', fromClient: true };
    this.#clientPayload = input.payload;
    if (this.#plan.protocol === 'seldon') this.#meta = this.#initialMeta(input.payload);
    const result = await this.#step(this.#plan.entry, input, true);
    if (result.kind === 'handoff') {
      return {
        kind: 'handoff',
        key: result.key,
        body: result.payload.bytes,
        contentType: result.payload.contentType,
        ...(result.payload.headerLength !== undefined && {
          headerLength: result.payload.headerLength,
        }),
        routing: this.#routingHeader(),
        softFailures: this.#softFailuresHeader(),
        fromClient: result.fromClient,
      };
    }
    return this.#finalAnswer(result.flow);
  }

  /** The client's request; in V2, its binary tensors told by inference-header-content-length. */
  #clientRequest(): Payload {
    const { body, contentType, headers } = this.#request;
    if (this.#plan.protocol !== 'v2') return new Payload(this.#plan.protocol, body, contentType);
    const headerLength = readHeaderLength(headers.get(HEADER_LENGTH_HEADER), body.length);
    if (!headerLength.ok) {
      throw new StepError(
        400,
        this.#plan.entry,
        `the request cannot be read: ${headerLength.reason}`,
      );
    }
    return new Payload(this.#plan.protocol, body, contentType, new Map(), headerLength.value);
  }

  /**
   * Which outputs the client asked to get as binary tensors, none when it
   * asked for none. Most requests never mention the parameters, and a
   * search of their bytes says so without parsing them.
   */
  #binaryOutputsAsked(): ((output: string) => boolean) | undefined {
    if (this.#binaryAsked === null) {
      const request = this.#clientPayload;
      const json =
        this.#plan.protocol === 'v2' && request?.mentions(KEYS.binaryData) === true
          ? request.json()
          : undefined;
      this.#binaryAsked = json?.ok === true ? binaryOutputsAsked(json.value) : undefined;
    }
    return this.#binaryAsked;
  }

  /** Who a V2 answer the executor writes speaks for: the graph, and the request's id. */
  #identity(): Identity {
    const modelName = this.#plan.graph.slice(this.#plan.graph.lastIndexOf('/') + 1);
    const request = this.#clientPayload;
    if (request?.mentions(KEYS.id) !== true) return { modelName };
    const json = request.json();
    const id = json.ok && isObject(json.value) ? json.value.id : undefined;
    return typeof id === 'string' ? { modelName, id } : { modelName };
  }

  #initialMeta(request: Payload): SeldonMeta {
    const parsed = request.json();
    const meta = readMeta(parsed.ok ? parsed.value : null);
    return meta.puid === '' ? { ...meta, puid: this.#services.newId() } : meta;
  }

  #node(name: string): StepPlan {
    const step = this.#plan.nodes[name];
    if (!step) throw new StepError(502, name, `the plan has no node "${name}"`);
    return step;
  }

  async #step(name: string, input: Flow, tail: boolean): Promise<StepResult> {
    if (Date.now() >= this.#deadlineAt) {
      throw new StepError(
        504,
        name,
        `the graph's deadline of ${String(this.#plan.timeoutMs)} ms passed`,
      );
    }
    const step = this.#node(name);
    const result = await this.#run(name, step, input, tail);
    if (result.kind === 'answer') this.#outputs.set(name, result.flow);
    return result;
  }

  async #run(name: string, step: StepPlan, input: Flow, tail: boolean): Promise<StepResult> {
    switch (step.kind) {
      case 'model':
        if (tail && step.handoff !== undefined) {
          const payload = this.#prepare(name, input, step);
          if (this.#mayHandOff(payload, step)) {
            return {
              kind: 'handoff',
              key: step.handoff,
              payload,
              fromClient: input.fromClient === true,
            };
          }
        }
        return answer(await this.#call(name, step, step, input, 'response'));
      case 'graph':
        return answer(await this.#call(name, step, step, input, 'response'));
      case 'transformer': {
        const transformed = await this.#soft(name, step, input, async () =>
          this.#transformed(await this.#call(name, step, step, input, 'request')),
        );
        return this.#step(step.to, transformed, tail);
      }
      case 'output-transformer': {
        // It takes its child's answer as a request, as any model server of its protocol would.
        const inner = await this.#answerOf(step.to, input);
        return answer(
          await this.#soft(name, step, inner, () =>
            this.#call(name, step, step, inner, 'response'),
          ),
        );
      }
      case 'router':
        return this.#router(name, step, input, tail);
      case 'splitter': {
        const to = this.#split(step.routes, step.stickyHeader);
        this.#routing.set(name, to);
        return this.#step(to, input, tail);
      }
      case 'switch': {
        const conditionInput = this.#conditionInput(input);
        const matched = step.cases.find((c) => {
          // A body that is not JSON is refused when a body case is reached, not before:
          // an earlier header case may take the request whatever its body.
          if (c.when.body !== undefined) {
            const parsed = input.payload.tensors();
            if (!parsed.ok) throw this.#payloadError(name, input, parsed.reason);
          }
          return conditionHolds(c.when, conditionInput);
        });
        const to = matched?.to ?? step.default;
        if (to === undefined) {
          throw new StepError(
            404,
            name,
            `no case of switch "${name}" matched the request, and it has no default`,
          );
        }
        this.#routing.set(name, to);
        return this.#step(to, input, tail);
      }
      case 'mirror':
        if (this.#services.random() * 100 < step.percent) this.#shadow(step.shadow, input);
        return this.#step(step.to, input, tail);
      case 'sequence':
        return this.#sequence(name, step, input, tail);
      case 'ensemble':
        return this.#ensemble(name, step, input, tail);
    }
  }

  /** Runs `name` for its answer: no hand-off, since something still follows. */
  async #answerOf(name: string, input: Flow): Promise<Flow> {
    const result = await this.#step(name, input, false);
    if (result.kind === 'handoff') throw new Error(`node ${name} handed off outside tail position`);
    return result.flow;
  }

  /** A soft step that fails passes its input on; the failure is recorded, not fatal. */
  async #soft(
    name: string,
    step: StepPlan,
    input: Flow,
    attempt: () => Promise<Flow>,
  ): Promise<Flow> {
    try {
      return await attempt();
    } catch (error) {
      if (!step.soft || !(error instanceof StepError) || error.status === 504) throw error;
      this.#softFailures.set(name, `${String(error.status)} ${error.message}`);
      return input;
    }
  }

  #conditionInput(input: Flow) {
    return {
      headers: this.#request.headers,
      query: this.#request.query,
      body: () => {
        const json = input.payload.tensors();
        return json.ok ? json.value : undefined;
      },
    };
  }

  #split(
    routes: readonly { readonly to: string; readonly weight: number }[],
    stickyHeader: string | undefined,
  ): string {
    const total = routes.reduce((sum, route) => sum + route.weight, 0);
    const sticky = stickyHeader === undefined ? undefined : this.#request.headers.get(stickyHeader);
    let draw = (sticky === undefined ? this.#services.random() : stableHash(sticky)) * total;
    for (const route of routes) {
      if (draw < route.weight) return route.to;
      draw -= route.weight;
    }
    // Weights of zero everywhere are refused by the spec; rounding may leave the draw at the end.
    return routes.findLast((route) => route.weight > 0)?.to ?? routes[0]?.to ?? '';
  }

  #shadow(name: string, input: Flow): void {
    // Never awaited, and a shadow's failure is nobody's business but the shadow's stats.
    this.#answerOf(name, input).catch(() => undefined);
  }

  async #router(name: string, step: RouterStep, input: Flow, tail: boolean): Promise<StepResult> {
    const decision = await this.#call(name, step, step, input, 'response');
    const json = decision.payload.tensors();
    if (!json.ok) throw new StepError(502, name, `the router's answer: ${json.reason}`);
    const choice = parseRouterAnswer(json.value, step.protocol, step.children.length);
    if (!choice.ok) throw new StepError(502, name, `the router's answer: ${choice.reason}`);
    const then = step.then;
    const last = tail && then === undefined;
    let result: StepResult;
    switch (choice.value.kind) {
      case 'child': {
        const child = step.children[choice.value.index] ?? '';
        this.#record(name, child, choice.value.index);
        result = await this.#step(child, input, last);
        break;
      }
      case 'all': {
        this.#record(name, 'all', -1);
        result = answer(await this.#combineBuiltin(name, 'merge', step.children, input));
        break;
      }
      case 'self':
        this.#record(name, 'self', -2);
        result = answer(input);
        break;
    }
    if (then === undefined) return result;
    if (result.kind === 'handoff') throw new Error(`node ${name} handed off before "then"`);
    return this.#step(then, result.flow, tail);
  }

  #record(name: string, choice: string, index: number): void {
    this.#routing.set(name, choice);
    if (this.#meta) this.#meta = recordRouting(this.#meta, name, index);
  }

  async #sequence(
    name: string,
    step: SequenceStep,
    request: Flow,
    tail: boolean,
  ): Promise<StepResult> {
    const done = new Map<string, Flow>();
    let previous = request;
    for (const [index, item] of step.steps.entries()) {
      const input =
        item.input === 'request'
          ? request
          : item.input === 'previous'
            ? previous
            : done.get(item.input);
      if (!input) {
        throw new StepError(
          502,
          name,
          `step ${item.node} reads "${item.input}", which has not run`,
        );
      }
      if (item.when && !conditionHolds(item.when, this.#conditionInput(previous))) {
        this.#routing.set(name, `stopped before ${item.node}`);
        return answer(previous);
      }
      const last = index === step.steps.length - 1;
      const itemStep = this.#node(item.node);
      let result: StepResult;
      try {
        result = await this.#step(item.node, input, tail && last);
      } catch (error) {
        if (!itemStep.soft || !(error instanceof StepError) || error.status === 504) throw error;
        this.#softFailures.set(item.node, `${String(error.status)} ${error.message}`);
        result = answer(input);
      }
      if (result.kind === 'handoff') return result;
      done.set(item.node, result.flow);
      previous = result.flow;
      if (!last && step.stopWhen && conditionHolds(step.stopWhen, this.#conditionInput(previous))) {
        this.#routing.set(name, `stopped after ${item.node}`);
        return answer(previous);
      }
    }
    return answer(previous);
  }

  async #children(children: readonly string[], input: Flow, tolerateAll: boolean) {
    return Promise.all(
      children.map(async (child): Promise<{ name: string; flow?: Flow; error?: StepError }> => {
        try {
          return { name: child, flow: await this.#answerOf(child, input) };
        } catch (error) {
          if (!(error instanceof StepError)) throw error;
          if (!tolerateAll && !this.#node(child).soft) throw error;
          this.#softFailures.set(child, `${String(error.status)} ${error.message}`);
          return { name: child, error };
        }
      }),
    );
  }

  /** Children's answers in the graph's protocol, for built-in combiners and the final answer. */
  #childResults(
    results: readonly { name: string; flow?: Flow; error?: StepError }[],
    protocol: Protocol,
  ): ChildResult[] {
    return results.map((result) => {
      if (!result.flow) return { name: result.name, ok: false, error: result.error?.message ?? '' };
      const json = this.#jsonIn(result.name, result.flow, protocol, 'response');
      return { name: result.name, ok: true, body: json };
    });
  }

  async #combineBuiltin(
    name: string,
    kind: Parameters<typeof combine>[0],
    children: readonly string[],
    input: Flow,
  ): Promise<Flow> {
    const protocol = this.#plan.protocol;
    const results = await this.#children(children, input, kind === 'first-success');
    refuseIfEveryChildRefused(results);
    const observer = this.#services.observer;
    const started = observer && performance.now();
    const combined = combine(
      kind,
      protocol,
      this.#childResults(results, protocol),
      this.#identity(),
    );
    if (observer && started !== undefined) {
      observer.combined(name, (performance.now() - started) / 1000);
    }
    if (!combined.ok) throw new StepError(502, name, `combining the answers: ${combined.reason}`);
    return { payload: Payload.ofJson(protocol, combined.value), role: 'response' };
  }

  async #ensemble(
    name: string,
    step: EnsembleStep,
    input: Flow,
    tail: boolean,
  ): Promise<StepResult> {
    let combined: Flow;
    if ('builtin' in step.combine) {
      combined = await this.#combineBuiltin(name, step.combine.builtin, step.children, input);
    } else {
      const { node, call } = step.combine;
      const results = await this.#children(step.children, input, false);
      refuseIfEveryChildRefused(results);
      const payload =
        step.combine.input === 'inference-request'
          ? this.#combinerInferenceRequest(node, call, results)
          : Payload.ofJson(
              call.protocol,
              combinerRequest(call.protocol, this.#childResults(results, call.protocol)),
            );
      const request: Flow = { payload, role: 'request' };
      combined = await this.#call(node, this.#node(node), call, request, 'response');
      this.#outputs.set(node, combined);
    }
    if (step.then === undefined) return answer(combined);
    return this.#step(step.then, combined, tail);
  }

  /**
   * The children's answers as one V2 inference request to a combiner node,
   * each child's binary tensors kept binary where the combiner takes them.
   */
  #combinerInferenceRequest(
    node: string,
    call: HopCall,
    results: readonly { name: string; flow?: Flow; error?: StepError }[],
  ): Payload {
    const children: ChildTensors[] = [];
    for (const result of results) {
      if (!result.flow) continue;
      const payload = result.flow.payload;
      if (payload.protocol === 'v2' && payload.binary && call.binaryTensors !== false) {
        const header = payload.json();
        if (!header.ok) throw this.#payloadError(result.name, result.flow, header.reason);
        children.push({ name: result.name, answer: header.value, tail: payload.tail });
      } else {
        const answerJson = this.#jsonIn(result.name, result.flow, 'v2', 'response');
        children.push({ name: result.name, answer: answerJson });
      }
    }
    const built = combinerInferenceRequest(children, this.#identity().id);
    if (!built.ok) throw new StepError(502, node, `the combiner's request: ${built.reason}`);
    return Payload.ofBinary('v2', built.value.request, built.value.tail);
  }

  /** 400 when the client's request is at fault, 502 when a node's answer is. */
  #payloadError(node: string, flow: Flow, reason: string): StepError {
    return flow.payload === this.#clientPayload
      ? new StepError(400, node, `the request cannot be read: ${reason}`)
      : new StepError(502, node, reason);
  }

  /** The JSON of `flow` in `protocol`, as a request or as an answer, binary tensors read. */
  #jsonIn(node: string, flow: Flow, protocol: Protocol, role: Role): Json {
    const parsed = flow.payload.tensors();
    if (!parsed.ok) throw this.#payloadError(node, flow, parsed.reason);
    const adapted =
      flow.role === 'response'
        ? adaptResponse(parsed.value, flow.payload.protocol, protocol)
        : adaptRequest(parsed.value, flow.payload.protocol, protocol);
    if (!adapted.ok) {
      throw this.#payloadError(node, flow, `adapting the payload: ${adapted.reason}`);
    }
    if (role === 'request' && flow.role === 'response') {
      const chained = responseAsRequest(adapted.value, protocol);
      if (!chained.ok) throw new StepError(502, node, `chaining the answer: ${chained.reason}`);
      return chained.value;
    }
    return adapted.value;
  }

  /**
   * `input` as a request for the node of `call` (an answer is chained into
   * one); the bytes go untouched when nothing needs to change. Binary
   * tensors stay binary where the node takes them: a V2 answer chained into
   * a V2 request keeps its bytes after a rewritten JSON part.
   */
  #prepare(node: string, input: Flow, call: HopCall): Payload {
    const payload = input.payload;
    const chain = input.role === 'response';
    // Most hops: a JSON request on to a node of its protocol.
    if (!chain && !payload.binary && payload.protocol === call.protocol) return payload;
    if (payload.protocol === call.protocol) {
      if (payload.opaque) return payload;
      const binaryOut = payload.binary && call.binaryTensors === false;
      if (!chain && !binaryOut) return payload;
      if (chain && payload.binary && !binaryOut) {
        const header = payload.json();
        if (!header.ok) throw this.#payloadError(node, input, header.reason);
        const chained = responseAsRequest(header.value, call.protocol);
        if (!chained.ok) throw new StepError(502, node, `chaining the answer: ${chained.reason}`);
        return Payload.ofBinary(call.protocol, chained.value, payload.tail);
      }
    }
    return Payload.ofJson(call.protocol, this.#jsonIn(node, input, call.protocol, 'request'));
  }

  /**
   * Whether Envoy may send `payload` on to the model and stream its answer to
   * the client: not when the client asked for binary outputs the model will
   * not know of (it gets another request than the client's, or takes no
   * binary tensors), since the executor must then write them.
   */
  #mayHandOff(payload: Payload, call: HopCall): boolean {
    if (this.#binaryOutputsAsked() === undefined) return true;
    return payload === this.#clientPayload && call.binaryTensors !== false;
  }

  /**
   * A transformer's answer: a request already, or an answer (what a stock
   * model server gives) to chain into the next request. The keys' mere
   * presence in the bytes tells most answers apart without parsing them.
   */
  #transformed(flow: Flow): Flow {
    const payload = flow.payload;
    if (payload.protocol === 'seldon' || payload.opaque) return flow;
    const v2 = payload.protocol === 'v2';
    const asRequest = payload.mentions(KEYS.inputs) || (!v2 && payload.mentions(KEYS.instances));
    const asAnswer = payload.mentions(v2 ? KEYS.outputs : KEYS.predictions);
    if (asRequest !== asAnswer) return asRequest ? flow : { payload, role: 'response' };
    const json = payload.json();
    if (!json.ok || isRequestShaped(json.value, payload.protocol)) return flow;
    return { payload, role: 'response' };
  }

  #headersFor(step: StepPlan, payload: Payload): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': payload.binary ? BINARY_CONTENT_TYPE : payload.contentType,
    };
    if (payload.headerLength !== undefined) {
      headers[HEADER_LENGTH_HEADER] = String(payload.headerLength);
    }
    for (const name of [
      ...TRACE_HEADERS,
      ...this.#plan.propagateHeaders,
      ...step.propagateHeaders,
    ]) {
      const value = this.#request.headers.get(name);
      if (value !== undefined) headers[name] = value;
    }
    return headers;
  }

  /** Calls a node with `input` as its request; its answer flows on as `role`. */
  async #call(name: string, step: StepPlan, call: HopCall, input: Flow, role: Role): Promise<Flow> {
    const payload = this.#prepare(name, input, call);
    // The step's own timeout or what is left of the graph's, whichever is less.
    const budgetMs = Math.min(step.timeoutMs, this.#deadlineAt - Date.now());
    if (budgetMs <= 0) {
      throw new StepError(
        504,
        name,
        `the graph's deadline of ${String(this.#plan.timeoutMs)} ms passed`,
      );
    }
    const headers = this.#headersFor(step, payload);
    const ended = this.#services.observer?.nodeCall(name, headers);
    try {
      const fromClient = input.fromClient === true;
      const flow = await this.#answerFlow(name, call, headers, payload, budgetMs, role, fromClient);
      ended?.(200, false);
      return flow;
    } catch (error) {
      // The interpreter goes on without a soft node, except past the graph's deadline.
      const status = error instanceof StepError ? error.status : 502;
      ended?.(status, step.soft && status !== 504);
      throw error;
    }
  }

  async #answerFlow(
    name: string,
    call: HopCall,
    headers: Record<string, string>,
    payload: Payload,
    budgetMs: number,
    role: Role,
    fromClient: boolean,
  ): Promise<Flow> {
    let reply: HopAnswer;
    try {
      reply = await this.#services.hops.call(
        call.hop,
        payload.bytes,
        headers,
        budgetMs,
        call.direct,
      );
    } catch (error) {
      if (error instanceof HopTimeoutError) throw new StepError(504, name, error.message);
      throw new StepError(
        502,
        name,
        `could not call the node: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (reply.status === 504)
      throw new StepError(504, name, `no answer in time: ${excerpt(reply.body)}`);
    if (reply.status === 503 && reply.headers.has(NO_ENDPOINT_HEADER)) {
      throw new StepError(503, name, 'the node has no ready endpoint to send the request to');
    }
    if (reply.status < 200 || reply.status >= 300) {
      const clients = fromClient && CLIENT_ERROR_STATUSES.has(reply.status);
      throw new StepError(
        clients ? reply.status : 502,
        name,
        `the node answered ${String(reply.status)}: ${excerpt(reply.body)}`,
      );
    }
    const answered = this.#answerPayload(name, call.protocol, reply);
    if (this.#meta) {
      this.#meta = recordNode(this.#meta, name, call.hop);
      if (call.protocol === 'seldon') {
        const json = answered.json();
        if (json.ok) this.#meta = mergeMeta(this.#meta, readMeta(json.value));
      }
    }
    return { payload: answered, role };
  }

  /** A node's answer; in V2, its binary tensors told by inference-header-content-length. */
  #answerPayload(node: string, protocol: Protocol, reply: HopAnswer): Payload {
    const declared = protocol === 'v2' ? reply.headers.get(HEADER_LENGTH_HEADER) : undefined;
    const contentType = reply.headers.get('content-type');
    if (declared === undefined) {
      return new Payload(protocol, reply.body, contentType ?? 'application/json', reply.headers);
    }
    const headerLength = readHeaderLength(declared, reply.body.length);
    if (!headerLength.ok) throw new StepError(502, node, `its answer: ${headerLength.reason}`);
    return new Payload(
      protocol,
      reply.body,
      contentType ?? BINARY_CONTENT_TYPE,
      reply.headers,
      headerLength.value,
    );
  }

  #softFailuresHeader(): string {
    const failures = [...this.#softFailures].map(([node, why]) => `${node}=${why}`);
    return headerText(failures.join('; '));
  }

  #routingHeader(): string {
    return headerText([...this.#routing].map(([node, choice]) => `${node}=${choice}`).join(', '));
  }

  /**
   * Whether the answer's bytes can go to the client as they are: in the
   * graph's protocol, nothing to add, and in V2 its outputs binary exactly
   * where the client asked for binary outputs.
   */
  #answersAsIs(payload: Payload): boolean {
    if (payload.protocol !== this.#plan.protocol) return false;
    if (this.#meta !== undefined || this.#plan.returnOutputs.length > 0) return false;
    if (this.#plan.protocol !== 'v2' || payload.opaque) return true;
    const asked = this.#binaryOutputsAsked();
    if (asked === undefined && !payload.binary) return true;
    const header = payload.json();
    return header.ok && outputsEncodedAsAsked(header.value, asked);
  }

  #finalAnswer(flow: Flow): GraphResult {
    const protocol = this.#plan.protocol;
    let body = flow.payload.bytes;
    let contentType = flow.payload.contentType;
    let headerLength = flow.payload.headerLength;
    if (!this.#answersAsIs(flow.payload)) {
      let json = this.#jsonIn(this.#plan.entry, flow, protocol, flow.role);
      if (protocol === 'v2' && flow.payload.protocol !== protocol && isObject(json)) {
        json = { ...identityFields(this.#identity()), ...json };
      }
      if (this.#meta) json = withMeta(json, mergeMeta(this.#meta, readMeta(json)));
      if (this.#plan.returnOutputs.length > 0) json = this.#withOutputs(json);
      const written = this.#written(json);
      ({ body, contentType, headerLength } = written);
    }
    const headers: [string, string][] = [];
    for (const [name, value] of flow.payload.headers) {
      if (!CONNECTION_HEADERS.has(name) && name !== 'content-type') headers.push([name, value]);
    }
    headers.push(['content-type', contentType]);
    if (headerLength !== undefined) headers.push([HEADER_LENGTH_HEADER, String(headerLength)]);
    const routing = this.#routingHeader();
    if (routing !== '') headers.push(['x-switchyard-routing', routing]);
    const softFailures = this.#softFailuresHeader();
    if (softFailures !== '') headers.push(['x-switchyard-soft-failures', softFailures]);
    return { kind: 'answer', status: 200, headers, body };
  }

  /** The answer's JSON as bytes: its outputs binary where the client asked for binary outputs. */
  #written(json: Json): { body: Buffer; contentType: string; headerLength?: number } {
    const asked = this.#binaryOutputsAsked();
    if (asked !== undefined && isObject(json) && Array.isArray(json.outputs)) {
      const encoded = encodeBinaryTensors(json, 'outputs', asked);
      if (!encoded.ok) {
        throw new StepError(502, this.#plan.entry, `writing binary outputs: ${encoded.reason}`);
      }
      const payload = Payload.ofBinary('v2', encoded.value.header, encoded.value.tail);
      return {
        body: payload.bytes,
        contentType: payload.contentType,
        ...(payload.headerLength !== undefined && { headerLength: payload.headerLength }),
      };
    }
    return { body: Buffer.from(JSON.stringify(json)), contentType: 'application/json' };
  }

  /** Named steps' outputs beside the answer, under "intermediate_outputs". */
  #withOutputs(json: Json): Json {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
    const outputs: Record<string, Json> = {};
    for (const name of this.#plan.returnOutputs) {
      const flow = this.#outputs.get(name);
      if (!flow) continue;
      const parsed = flow.payload.tensors();
      outputs[name] = parsed.ok ? parsed.value : flow.payload.bytes.toString('base64');
    }
    return { ...json, intermediate_outputs: outputs };
  }
}

/**
 * Children none of which answered, every one because it refused the client's
 * payload (soft children, or first-success): the client's error, as the
 * first child in declared order gave it. Otherwise combining reports them.
 */
function refuseIfEveryChildRefused(results: readonly { flow?: Flow; error?: StepError }[]): void {
  if (results.some((result) => result.flow !== undefined)) return;
  const errors = results.map((result) => result.error);
  const [first] = errors;
  if (first && errors.every((error) => error !== undefined && isClientError(error))) throw first;
}

/** Runs a request through a plan: to an answer, or to a model Envoy forwards it to. */
export async function runGraph(
  plan: ExecutionPlan,
  request: GraphRequest,
  services: RunServices,
): Promise<GraphResult> {
  return new GraphRun(plan, request, services).run();
}
