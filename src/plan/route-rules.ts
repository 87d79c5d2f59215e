import type { GraphModel, NodeModel, NodeOfKind, RetriesModel } from '../graph/model.ts';
import { HEADER_LENGTH_HEADER } from '../protocols/binary-tensors.ts';
import { explainPath, modelInferencePath } from '../protocols/paths.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { inListRegex } from '../spec/in-regex.ts';
import type { SwitchCondition } from '../spec/schema.ts';
import { bodyCondition } from './body-conditions.ts';
import type { ExplainPlan, ForwardAction, RetryPlan, RouteRule, ValueCondition } from './types.ts';
import { upstreamId } from './upstreams.ts';

/** Millionths: the resolution of weighted choice and mirror fractions. */
export const MILLION = 1_000_000;

const defaultRetryOn = ['5xx', 'reset', 'connect-failure'] as const;

type ModelNode = NodeOfKind<'model'>;
type SplitterNode = NodeOfKind<'splitter'>;
type SwitchNode = NodeOfKind<'switch'>;
type MirrorNode = NodeOfKind<'mirror'>;

/** Settings a node passes down to children that do not declare their own. */
interface Inherited {
  readonly timeoutMs?: number;
  readonly retries?: RetriesModel;
}

interface Context {
  readonly graph: GraphModel;
  readonly diagnostics: Diagnostic[];
}

function nodeOf(ctx: Context, name: string): NodeModel {
  const node = ctx.graph.nodes.get(name);
  // GraphModel guarantees every reference resolves.
  if (!node) throw new Error(`graph ${ctx.graph.name} has no node ${name}`);
  return node;
}

function add(ctx: Context, diagnostic: Diagnostic): void {
  // A node reached along several routes would otherwise report the same problem once per route.
  const { path, message } = diagnostic;
  if (ctx.diagnostics.some((d) => d.path === path && d.message === message)) return;
  ctx.diagnostics.push(diagnostic);
}

function report(ctx: Context, path: string, message: string, hint: string): void {
  add(ctx, { code: 'unsupported', source: ctx.graph.source, path, message, hint });
}

export function retryPlan(retries: RetriesModel | undefined): RetryPlan | undefined {
  if (retries === undefined || retries.attempts === 0) return undefined;
  return {
    attempts: retries.attempts,
    ...(retries.perTryTimeoutMs !== undefined && { perTryTimeoutMs: retries.perTryTimeoutMs }),
    on: retries.on ?? defaultRetryOn,
  };
}

function settingsOf(ctx: Context, declared: Inherited) {
  const timeoutMs = Math.min(declared.timeoutMs ?? ctx.graph.timeoutMs, ctx.graph.timeoutMs);
  const retries = retryPlan(declared.retries);
  return { timeoutMs, ...(retries && { retries }), mirrors: [] };
}

function inherit(node: NodeModel, inherited: Inherited): Inherited {
  const timeoutMs = node.timeoutMs ?? inherited.timeoutMs;
  const retries = node.retries ?? inherited.retries;
  return { ...(timeoutMs !== undefined && { timeoutMs }), ...(retries && { retries }) };
}

function rule(node: string, action: RouteRule['action']): RouteRule {
  return { node, headers: [], queries: [], body: [], action };
}

/** Hands the request to the executor, which runs the graph from `name` down. */
function executorRule(name: string): RouteRule {
  return rule(name, { kind: 'execute', entry: name });
}

function modelPath(ctx: Context, name: string, node: ModelNode): string {
  return modelInferencePath(node.protocol ?? ctx.graph.protocol, node.model ?? name);
}

function modelRules(
  ctx: Context,
  name: string,
  node: ModelNode,
  inherited: Inherited,
): RouteRule[] {
  const protocol = node.protocol ?? ctx.graph.protocol;
  if (protocol !== ctx.graph.protocol) {
    return [executorRule(name)];
  }
  return [
    rule(name, {
      kind: 'forward',
      upstream: upstreamId(ctx.graph, name),
      path: modelPath(ctx, name, node),
      ...settingsOf(ctx, inherit(node, inherited)),
    }),
  ];
}

/** Maps a draw bound of a child's rule into the child's slice [low, high) of the parent's draw. */
function scaleDraw(rule: RouteRule, low: number, high: number): RouteRule {
  const inner = rule.drawBelow ?? MILLION;
  const bound = low + Math.round(((high - low) * inner) / MILLION);
  const { drawBelow: _inner, ...rest } = rule;
  return bound >= MILLION ? rest : { ...rest, drawBelow: bound };
}

function stickyRules(
  ctx: Context,
  name: string,
  node: SplitterNode & { stickyHeader: string },
  inherited: Inherited,
): RouteRule[] {
  const targets: { upstream: string; weight: number }[] = [];
  const paths = new Set<string>();
  node.routes.forEach((route, index) => {
    const child = nodeOf(ctx, route.to);
    const at = `spec.nodes.${name}.routes[${index}].to`;
    if (child.kind !== 'model' || (child.protocol ?? ctx.graph.protocol) !== ctx.graph.protocol) {
      report(
        ctx,
        at,
        `a sticky splitter can only route to models of the graph's protocol, and "${route.to}" is a ${child.kind}`,
        'route to model nodes, or drop stickyHeader',
      );
      return;
    }
    if (child.timeoutMs !== undefined || child.retries !== undefined) {
      report(
        ctx,
        `spec.nodes.${route.to}`,
        `"${route.to}" declares its own timeout or retries, but a sticky splitter routes all its children with one policy`,
        `move timeout and retries to the splitter "${name}"`,
      );
    }
    paths.add(modelPath(ctx, route.to, child));
    if (route.weight > 0)
      targets.push({ upstream: upstreamId(ctx.graph, route.to), weight: route.weight });
  });
  const [path, ...others] = [...paths];
  if (path === undefined) return [];

  if (others.length > 0) {
    report(
      ctx,
      `spec.nodes.${name}.routes`,
      `the children of a sticky splitter must serve the same model path, but they serve ${[...paths].join(', ')}`,
      'give the children the same `model` name, or drop stickyHeader (Envoy cannot rewrite the path per weighted cluster)',
    );
  }
  return [
    rule(name, {
      kind: 'sticky-split',
      header: node.stickyHeader.toLowerCase(),
      path,
      targets,
      ...settingsOf(ctx, inherit(node, inherited)),
    }),
  ];
}

function splitterRules(
  ctx: Context,
  name: string,
  node: SplitterNode,
  inherited: Inherited,
): RouteRule[] {
  if (node.stickyHeader !== undefined) {
    return stickyRules(ctx, name, { ...node, stickyHeader: node.stickyHeader }, inherited);
  }
  const total = node.routes.reduce((sum, route) => sum + route.weight, 0);
  const own = inherit(node, inherited);
  const rules: RouteRule[] = [];
  let cumulative = 0;
  let low = 0;
  for (const route of node.routes) {
    if (route.weight === 0) continue;
    cumulative += route.weight;
    const high = cumulative === total ? MILLION : Math.round((cumulative * MILLION) / total);
    if (high > low) {
      for (const child of compileNode(ctx, route.to, own)) rules.push(scaleDraw(child, low, high));
    }
    low = high;
  }
  return rules;
}

function conditionOf(when: SwitchCondition): ValueCondition['match'] | undefined {
  if (when.equals !== undefined) return { kind: 'exact', value: String(when.equals) };
  if (when.prefix !== undefined) return { kind: 'prefix', value: when.prefix };
  if (when.regex !== undefined) return { kind: 'regex', value: when.regex };
  if (when.present !== undefined) return { kind: 'present', present: when.present };
  if (when.in !== undefined) {
    return { kind: 'regex', value: inListRegex(when.in) };
  }
  return undefined;
}

function headerOrQueryRules(
  ctx: Context,
  name: string,
  index: number,
  when: SwitchCondition,
  children: RouteRule[],
): RouteRule[] {
  const match = conditionOf(when);
  const header = when.header;
  const query = when.query;
  if (match === undefined || (header === undefined && query === undefined)) {
    report(
      ctx,
      `spec.nodes.${name}.cases[${index}].when`,
      'this condition cannot be matched by Envoy',
      'use equals, in, prefix, regex or present on a header or query parameter',
    );
    return [];
  }
  const condition: ValueCondition = { name: header?.toLowerCase() ?? query ?? '', match };
  return children.map((child) =>
    header === undefined
      ? { ...child, queries: [condition, ...child.queries] }
      : { ...child, headers: [condition, ...child.headers] },
  );
}

/**
 * A switch that reads the body refuses a body that is not JSON, as the
 * executor would, but only once a body case is reached: an earlier header
 * case may take the request without its body.
 */
function unreadableBodyRules(name: string): RouteRule[] {
  const refuse = (reason: string) =>
    rule(name, { kind: 'reject', status: 400, reason: `the request cannot be read: ${reason}` });
  // Envoy reads no body at all into metadata as it reads a missing value, so a request that
  // has none must be told apart by its headers: an empty length, or a method without a body.
  const empty = refuse('the payload is empty');
  return [
    { ...empty, headers: [{ name: 'content-length', match: { kind: 'exact', value: '0' } }] },
    { ...empty, headers: [{ name: ':method', match: { kind: 'regex', value: 'GET|HEAD' } }] },
    { ...refuse('the payload is not JSON'), bodyUnreadable: true },
  ];
}

function switchRules(
  ctx: Context,
  name: string,
  node: SwitchNode,
  inherited: Inherited,
): RouteRule[] {
  const bodyConditions = node.cases.map((c) => bodyCondition(c.when));
  // Envoy tests one value against one matcher; a CEL expression runs in the executor.
  if (node.cases.some((c) => c.when.cel !== undefined)) return [executorRule(name)];
  if (node.cases.some((c, index) => c.when.body !== undefined && !bodyConditions[index])) {
    return [executorRule(name)];
  }
  const own = inherit(node, inherited);
  const firstBodyCase = node.cases.findIndex((c) => c.when.body !== undefined);
  // A switch on the body may still fall to the executor, and then Envoy's limits on its
  // subtree do not apply: their problems count only once the switch is native.
  const native: Context = firstBodyCase < 0 ? ctx : { graph: ctx.graph, diagnostics: [] };
  const beforeBody: RouteRule[] = [];
  const afterBody: RouteRule[] = firstBodyCase < 0 ? [] : unreadableBodyRules(name);
  for (const [index, switchCase] of node.cases.entries()) {
    const children = compileNode(native, switchCase.to, own);
    const rules = firstBodyCase < 0 || index < firstBodyCase ? beforeBody : afterBody;
    const condition = bodyConditions[index];
    if (condition) {
      rules.push(...children.map((child) => ({ ...child, body: [condition, ...child.body] })));
    } else {
      rules.push(...headerOrQueryRules(native, name, index, switchCase.when, children));
    }
  }
  if (node.default !== undefined) {
    afterBody.push(...compileNode(native, node.default, own));
  } else {
    afterBody.push(
      rule(name, {
        kind: 'reject',
        status: 404,
        reason: `no case of switch "${name}" matched the request, and it has no default`,
      }),
    );
  }
  if (firstBodyCase < 0) return [...beforeBody, ...afterBody];
  // Envoy turns the executor on for a request when it picks the route, before any body is read.
  if (afterBody.some((r) => r.action.kind === 'execute')) return [executorRule(name)];
  for (const diagnostic of native.diagnostics) add(ctx, diagnostic);
  const limit = ctx.graph.maxRequestBytes;
  return [...beforeBody, ...afterBody.map((r) => ({ ...r, readsBodyUpTo: limit }))];
}

function mirrorRules(
  ctx: Context,
  name: string,
  node: MirrorNode,
  inherited: Inherited,
): RouteRule[] {
  const shadow = nodeOf(ctx, node.shadow);
  if (shadow.kind !== 'model') {
    report(
      ctx,
      `spec.nodes.${name}.shadow`,
      `a mirror's shadow must be a model, and "${node.shadow}" is a ${shadow.kind}`,
      'mirror to a model node',
    );
    return compileNode(ctx, node.to, inherit(node, inherited));
  }
  const shadowPath = modelPath(ctx, node.shadow, shadow);
  const mirror = {
    upstream: upstreamId(ctx.graph, node.shadow),
    perTenThousand: Math.round((node.percent ?? 100) * 100),
  };
  // As for a switch on the body: the subtree's problems with Envoy count only if it stays native.
  const native: Context = { graph: ctx.graph, diagnostics: [] };
  const children = compileNode(native, node.to, inherit(node, inherited));
  // Envoy mirrors at the route; below an executor route, the executor mirrors.
  if (children.some((child) => child.action.kind === 'execute')) return [executorRule(name)];
  for (const diagnostic of native.diagnostics) add(ctx, diagnostic);
  return children.map((child) => {
    const action = child.action;
    if (action.kind === 'reject' || action.kind === 'execute') return child;
    if (action.path !== shadowPath) {
      report(
        ctx,
        `spec.nodes.${name}.shadow`,
        `the shadow "${node.shadow}" serves ${shadowPath}, but Envoy mirrors the primary's request to ${action.path} unchanged`,
        `set model on "${node.shadow}" so that it serves ${action.path}`,
      );
    }
    return { ...child, action: { ...action, mirrors: [...action.mirrors, mirror] } };
  });
}

/** The rules of the native subtree rooted at `name`; a total list (its last rule always matches). */
export function compileNode(ctx: Context, name: string, inherited: Inherited): RouteRule[] {
  const node = nodeOf(ctx, name);
  switch (node.kind) {
    case 'model':
      return modelRules(ctx, name, node, inherited);
    case 'splitter':
      return splitterRules(ctx, name, node, inherited);
    case 'switch':
      return switchRules(ctx, name, node, inherited);
    case 'mirror':
      return mirrorRules(ctx, name, node, inherited);
    case 'transformer':
    case 'output-transformer':
    case 'router':
    case 'combiner':
    case 'sequence':
    case 'ensemble':
    case 'graph':
      return [executorRule(name)];
  }
}

/** How Envoy forwards a request the executor handed off to model `name`. */
export function handoffForward(graph: GraphModel, name: string, node: ModelNode): ForwardAction {
  const ctx = { graph, diagnostics: [] };
  return {
    kind: 'forward',
    upstream: upstreamId(graph, name),
    path: modelPath(ctx, name, node),
    ...settingsOf(ctx, inherit(node, {})),
  };
}

/**
 * How a V1 graph answers `:explain`: its explainer node, called on its own
 * explain path with its own timeout and retries, or a 404 saying it has none.
 */
export function explainPlan(graph: GraphModel): ExplainPlan {
  const name = graph.explainer;
  const node = name === undefined ? undefined : graph.nodes.get(name);
  if (name === undefined || node?.kind !== 'model') {
    return {
      node: 'explainer',
      action: {
        kind: 'reject',
        status: 404,
        reason: `graph "${graph.name}" has no explainer (spec.explainer names the node that explains)`,
      },
    };
  }
  const ctx = { graph, diagnostics: [] };
  return {
    node: name,
    action: {
      kind: 'forward',
      upstream: upstreamId(graph, name),
      path: explainPath(node.model ?? name),
      ...settingsOf(ctx, inherit(node, {})),
    },
  };
}

/** A V2 model whose server takes no binary tensors: the executor sends them to it as JSON. */
function takesNoBinaryTensors(graph: GraphModel, node: NodeModel): boolean {
  if (!('binaryTensors' in node) || node.binaryTensors) return false;
  return (node.protocol ?? graph.protocol) === 'v2';
}

/**
 * Whether Envoy's own routes cannot serve a V2 request with binary tensors:
 * a switch reads the body, which Envoy reads as JSON only, or a model whose
 * server takes no binary tensors may get it.
 */
function binaryNeedsExecutor(graph: GraphModel, rules: readonly RouteRule[]): boolean {
  if (graph.protocol !== 'v2') return false;
  if (rules.every((r) => r.action.kind === 'execute' || r.action.kind === 'reject')) return false;
  if (rules.some((r) => r.body.length > 0 || r.bodyUnreadable === true)) return true;
  return [...graph.nodes.values()].some((node) => takesNoBinaryTensors(graph, node));
}

/** Whether `rule` sends the executor V2 requests with binary tensors only. */
export function takesBinaryTensorsOnly(rule: RouteRule): boolean {
  return rule.headers.some((h) => h.name === HEADER_LENGTH_HEADER && h.match.kind === 'present');
}

export function graphRules(graph: GraphModel, diagnostics: Diagnostic[]): RouteRule[] {
  // A graph that logs payloads runs in the executor, whatever Envoy could do alone: only the
  // executor sees a request's body and its whole answer (docs/decisions/0058-sampled-payload-log.md).
  if (graph.payloadLog) return [executorRule(graph.entry)];
  const rules = compileNode({ graph, diagnostics }, graph.entry, {});
  if (!binaryNeedsExecutor(graph, rules)) return rules;
  // Requests with binary tensors (they carry inference-header-content-length) are the
  // executor's, which reads their values and writes them as JSON where a node needs it.
  return [
    {
      ...executorRule(graph.entry),
      headers: [{ name: HEADER_LENGTH_HEADER, match: { kind: 'present', present: true } }],
    },
    ...rules,
  ];
}
