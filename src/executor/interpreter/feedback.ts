import { feedbackHopPath, type ExecutionPlan, type StepPlan } from '../../plan/execution.ts';
import { isObject, type Json } from '../../protocols/json.ts';
import { readMeta } from '../../protocols/seldon-meta.ts';
import type { GraphResult } from './graph-run.ts';
import type { Hops } from './hops.ts';
import { excerpt, StepError } from './step-error.ts';

/**
 * Seldon feedback (`/api/v1.0/feedback`): `{request, response, reward,
 * truth}` goes to `/send-feedback` of every node the prediction went
 * through. Routers are followed by the choice recorded in the response's
 * `meta.routing` (as the executor recorded it); where no choice was recorded
 * every child gets the feedback, since any of them may have answered.
 */

function childrenOf(
  name: string,
  step: StepPlan,
  routing: Readonly<Record<string, number>>,
): string[] {
  switch (step.kind) {
    case 'model':
    case 'graph':
      return [];
    case 'transformer':
    case 'output-transformer':
      return [step.to];
    case 'router': {
      const choice = routing[name];
      const chosen =
        choice === undefined || choice === -1
          ? step.children
          : choice === -2
            ? []
            : step.children.filter((_, index) => index === choice);
      return [...chosen, ...(step.then === undefined ? [] : [step.then])];
    }
    case 'splitter':
      return step.routes.map((route) => route.to);
    case 'switch':
      return [
        ...step.cases.map((c) => c.to),
        ...(step.default === undefined ? [] : [step.default]),
      ];
    case 'mirror':
      return [step.to];
    case 'sequence':
      return step.steps.map((s) => s.node);
    case 'ensemble':
      return [
        ...step.children,
        ...('node' in step.combine ? [step.combine.node] : []),
        ...(step.then === undefined ? [] : [step.then]),
      ];
  }
}

interface ServingNode {
  readonly name: string;
  readonly hop: string;
  readonly soft: boolean;
}

/** The nodes with an endpoint that served the prediction, each once, in order of discovery. */
function servingNodes(
  plan: ExecutionPlan,
  routing: Readonly<Record<string, number>>,
): ServingNode[] {
  const seen = new Set<string>();
  const pending = [plan.entry];
  const serving: ServingNode[] = [];
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const step = plan.nodes[name];
    if (!step) continue;
    if ('hop' in step && step.kind !== 'graph') {
      serving.push({ name, hop: feedbackHopPath(step.hop), soft: step.soft });
    }
    pending.push(...childrenOf(name, step, routing));
  }
  return serving;
}

export async function runFeedback(
  plan: ExecutionPlan,
  body: Buffer,
  hops: Hops,
): Promise<GraphResult> {
  let feedback: Json;
  try {
    feedback = JSON.parse(body.toString('utf8')) as Json;
  } catch {
    throw new StepError(400, plan.entry, 'the feedback is not JSON');
  }
  if (!isObject(feedback)) {
    throw new StepError(
      400,
      plan.entry,
      'the feedback must be an object with request, response, reward and truth',
    );
  }
  const meta = readMeta(feedback.response ?? null);
  const nodes = servingNodes(plan, meta.routing);
  const results = await Promise.all(
    nodes.map(async (node) => {
      try {
        const reply = await hops.call(
          node.hop,
          body,
          { 'content-type': 'application/json' },
          plan.timeoutMs,
        );
        if (reply.status >= 200 && reply.status < 300) return undefined;
        const reason = `the node answered feedback with ${String(reply.status)}: ${excerpt(reply.body)}`;
        return new StepError(502, node.name, reason);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return new StepError(502, node.name, `could not send feedback: ${reason}`);
      }
    }),
  );
  const failed = results.find((error, index) => error !== undefined && nodes[index]?.soft !== true);
  if (failed) throw failed;
  const answer = {
    meta: {
      puid: meta.puid,
      tags: {},
      routing: meta.routing,
      requestPath: Object.fromEntries(nodes.map((node) => [node.name, node.hop])),
      metrics: [],
    },
  };
  return {
    kind: 'answer',
    status: 200,
    headers: [['content-type', 'application/json']],
    body: Buffer.from(JSON.stringify(answer)),
  };
}
