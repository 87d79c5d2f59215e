import type { GraphModel, NodeModel } from '../graph/model.ts';
import { reachableFrom } from '../graph/order.ts';
import { referencesOf } from '../graph/references.ts';
import { nodePath, publicInferencePath, SELDON_SEND_FEEDBACK_PATH } from '../protocols/paths.ts';
import type { PayloadLog, Protocol } from '../spec/schema.ts';
import {
  EXECUTION_PLAN_VERSION,
  feedbackHopPath,
  type ExecutionPlan,
  type HopCall,
  type PayloadLogPlan,
  type StepPlan,
} from './execution.ts';
import { directHop } from './direct-hop.ts';
import { retryPlan } from './route-rules.ts';
import type { ExecutorTransport, HopRoutePlan } from './types.ts';
import { graphId, hasEndpoint, upstreamId } from './upstreams.ts';

/** Where the executor calls a node: one hop route per node, named after graph and node. */
export function hopPath(graph: GraphModel, node: string): string {
  return `/${graphId(graph)}/${node}`;
}

/** The dynamic-metadata value that sends a prepared request on to a model (see ModelStep.handoff). */
export function handoffKey(graph: GraphModel, node: string): string {
  return `${graphId(graph)}/${node}`;
}

function protocolOf(graph: GraphModel, node: NodeModel): Protocol {
  return ('protocol' in node ? node.protocol : undefined) ?? graph.protocol;
}

/**
 * Whether the executor may let Envoy forward the request to this model and
 * stream its answer straight to the client. Not when the answer must be
 * rewritten on its way back: a protocol adapter, Seldon's meta, or
 * intermediate outputs beside it. Nor in a graph of direct hops: the
 * executor calls the last model itself too, and Envoy routes the request to
 * it as to an upstream, one pass instead of an ext_proc stream and a
 * hand-back. Nor in a graph that logs payloads: the executor must see the
 * answer to log it.
 */
export function canHandOff(graph: GraphModel, node: NodeModel): boolean {
  return (
    graph.hops !== 'direct' &&
    graph.payloadLog === undefined &&
    node.kind === 'model' &&
    protocolOf(graph, node) === graph.protocol &&
    graph.protocol !== 'seldon' &&
    graph.returnOutputs.length === 0
  );
}

/** The nodes below `name` whose answer becomes `name`'s answer unchanged. */
function answeringChildren(node: NodeModel): string[] {
  switch (node.kind) {
    case 'transformer':
    case 'mirror':
      return [node.to];
    case 'splitter':
      return node.routes.map((route) => route.to);
    case 'switch':
      return [
        ...node.cases.map((c) => c.to),
        ...(node.default === undefined ? [] : [node.default]),
      ];
    case 'sequence':
      return node.steps.slice(-1).map((step) => step.node);
    case 'router':
      return node.then === undefined ? node.children : [node.then];
    case 'ensemble':
      return node.then === undefined ? [] : [node.then];
    case 'model':
    case 'output-transformer':
    case 'combiner':
    case 'graph':
      return [];
  }
}

/** The models whose answer may be the answer of `name`. */
function tailsBelow(graph: GraphModel, name: string): string[] {
  const node = graph.nodes.get(name);
  if (!node) return [];
  if (node.kind === 'model') return [name];
  return answeringChildren(node).flatMap((child) => tailsBelow(graph, child));
}

/**
 * The models that may answer for the graph when a request reaches `entry`:
 * only they can take a hand-off. Sorted, each once.
 */
export function handoffModels(graph: GraphModel, entry: string): string[] {
  return [...new Set(tailsBelow(graph, entry))]
    .filter((name) => {
      const node = graph.nodes.get(name);
      return node !== undefined && canHandOff(graph, node);
    })
    .sort();
}

function stepTimeoutMs(graph: GraphModel, node: NodeModel): number {
  return Math.min(node.timeoutMs ?? graph.timeoutMs, graph.timeoutMs);
}

function lower(names: readonly string[] | undefined): string[] {
  return (names ?? []).map((name) => name.toLowerCase());
}

function hopCall(graph: GraphModel, name: string, node: NodeModel): HopCall {
  const protocol = protocolOf(graph, node);
  const jsonOnly = protocol === 'v2' && 'binaryTensors' in node && !node.binaryTensors;
  const direct = directHop(graph, name, node);
  return {
    hop: hopPath(graph, name),
    protocol,
    ...(jsonOnly && { binaryTensors: false }),
    ...(direct && { direct }),
  };
}

function stepOf(
  graph: GraphModel,
  name: string,
  node: NodeModel,
  handoffs: ReadonlySet<string>,
): StepPlan {
  const common = {
    timeoutMs: stepTimeoutMs(graph, node),
    soft: node.dependency === 'soft',
    propagateHeaders: lower(node.propagateHeaders),
  };
  switch (node.kind) {
    case 'model':
    case 'combiner':
      return {
        kind: 'model',
        ...common,
        ...hopCall(graph, name, node),
        ...(handoffs.has(name) && { handoff: handoffKey(graph, name) }),
      };
    case 'transformer':
    case 'output-transformer':
      return { kind: node.kind, ...common, ...hopCall(graph, name, node), to: node.to };
    case 'router':
      return {
        kind: 'router',
        ...common,
        ...hopCall(graph, name, node),
        children: node.children,
        ...(node.then !== undefined && { then: node.then }),
      };
    case 'splitter':
      return {
        kind: 'splitter',
        ...common,
        routes: node.routes,
        ...(node.stickyHeader !== undefined && { stickyHeader: node.stickyHeader.toLowerCase() }),
      };
    case 'switch':
      return {
        kind: 'switch',
        ...common,
        cases: node.cases,
        ...(node.default !== undefined && { default: node.default }),
      };
    case 'mirror':
      return {
        kind: 'mirror',
        ...common,
        to: node.to,
        shadow: node.shadow,
        percent: node.percent ?? 100,
      };
    case 'sequence':
      return {
        kind: 'sequence',
        ...common,
        steps: node.steps.map((step) => ({
          node: step.node,
          input: step.input ?? 'previous',
          ...(step.when !== undefined && { when: step.when }),
        })),
        ...(node.stopWhen !== undefined && { stopWhen: node.stopWhen }),
      };
    case 'ensemble': {
      const combiner = node.combiner === undefined ? undefined : graph.nodes.get(node.combiner);
      return {
        kind: 'ensemble',
        ...common,
        children: node.children,
        combine:
          node.combiner !== undefined && combiner !== undefined
            ? {
                node: node.combiner,
                call: hopCall(graph, node.combiner, combiner),
                input: (combiner.kind === 'combiner' && combiner.combinerInput) || 'responses',
              }
            : { builtin: node.combine ?? 'merge' },
        ...(node.then !== undefined && { then: node.then }),
      };
    }
    case 'graph':
      return { kind: 'graph', ...common, ...hopCall(graph, name, node) };
  }
}

function edgesOf(graph: GraphModel): Map<string, string[]> {
  return new Map(
    [...graph.nodes].map(([name, node]) => [
      name,
      referencesOf(name, node).map((reference) => reference.target),
    ]),
  );
}

/** The nodes the executor runs when a request reaches `entry`: it and everything below it. */
export function executedNodes(graph: GraphModel, entry: string): string[] {
  return [...reachableFrom(entry, edgesOf(graph))].sort();
}

function payloadLogPlan(payloadLog: PayloadLog): PayloadLogPlan {
  const { url, file } = payloadLog.sink;
  // The spec layer has checked that exactly one is set.
  return { sample: payloadLog.sample, sink: url !== undefined ? { url } : { file: file ?? '' } };
}

/** The executor's plan for the part of `graph` below `entry`. */
export function executionPlan(graph: GraphModel, entry: string): ExecutionPlan {
  const nodes: Record<string, StepPlan> = {};
  const handoffs = new Set(handoffModels(graph, entry));
  for (const name of executedNodes(graph, entry)) {
    const node = graph.nodes.get(name);
    if (node) nodes[name] = stepOf(graph, name, node, handoffs);
  }
  return {
    version: EXECUTION_PLAN_VERSION,
    graph: graphId(graph),
    protocol: graph.protocol,
    timeoutMs: graph.timeoutMs,
    entry,
    propagateHeaders: lower(graph.propagateHeaders),
    returnOutputs: graph.returnOutputs,
    maxBodyBytes: graph.maxRequestBytes,
    nodes,
    ...(graph.payloadLog && { payloadLog: payloadLogPlan(graph.payloadLog) }),
  };
}

/** Only a plan that may hand a request back to Envoy needs ext_proc; the executor answers the others. */
export function executorTransport(plan: ExecutionPlan): ExecutorTransport {
  return Object.values(plan.nodes).some(
    (step) => step.kind === 'model' && step.handoff !== undefined,
  )
    ? 'ext_proc'
    : 'upstream';
}

/**
 * The hop routes of the nodes under `entry` that the executor calls: every
 * node with an endpoint, and nested graphs, which are called on their own
 * public path through Envoy's main listener.
 */
export function hopRoutes(graph: GraphModel, entry: string): HopRoutePlan[] {
  return executedNodes(graph, entry).flatMap((name): HopRoutePlan[] => {
    const node = graph.nodes.get(name);
    if (!node) return [];
    const timeoutMs = stepTimeoutMs(graph, node);
    if (node.kind === 'graph') {
      return [
        {
          graph: graphId(graph),
          node: name,
          path: hopPath(graph, name),
          target: { kind: 'graph', path: publicInferencePath(protocolOf(graph, node), node.graph) },
          timeoutMs,
        },
      ];
    }
    if (!hasEndpoint(node)) return [];
    const retries = retryPlan(node.retries);
    return [
      {
        graph: graphId(graph),
        node: name,
        path: hopPath(graph, name),
        target: {
          kind: 'upstream',
          upstream: upstreamId(graph, name),
          path: nodePath(protocolOf(graph, node), node.kind, node.model ?? name),
        },
        timeoutMs,
        ...(retries && { retries }),
      },
    ];
  });
}

/** Seldon feedback routes: every node with an endpoint takes feedback on /send-feedback. */
export function feedbackHopRoutes(graph: GraphModel): HopRoutePlan[] {
  return graph.order.flatMap((name): HopRoutePlan[] => {
    const node = graph.nodes.get(name);
    if (!node || !hasEndpoint(node)) return [];
    return [
      {
        graph: graphId(graph),
        node: name,
        path: feedbackHopPath(hopPath(graph, name)),
        target: {
          kind: 'upstream',
          upstream: upstreamId(graph, name),
          path: SELDON_SEND_FEEDBACK_PATH,
        },
        timeoutMs: stepTimeoutMs(graph, node),
      },
    ];
  });
}
