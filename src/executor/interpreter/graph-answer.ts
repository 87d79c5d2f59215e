import type { ExecutionPlan } from '../../plan/execution.ts';
import { errorBody } from '../../protocols/error-body.ts';
import { SELDON_FEEDBACK_PATH } from '../../protocols/paths.ts';
import { runFeedback } from './feedback.ts';
import { runGraph, type GraphResult, type RunServices } from './graph-run.ts';
import { StepError } from './step-error.ts';

export function tooLarge(plan: ExecutionPlan, bytes: number): StepError {
  return new StepError(
    413,
    plan.entry,
    `the request body of ${String(bytes)} bytes is larger than the graph's maxRequestBytes of ${String(plan.maxBodyBytes)}`,
  );
}

export function errorResult(plan: ExecutionPlan, error: StepError): GraphResult {
  return {
    kind: 'answer',
    status: error.status,
    headers: [['content-type', 'application/json']],
    body: Buffer.from(
      errorBody({
        graph: plan.graph,
        node: error.node,
        status: error.status,
        reason: error.message,
      }),
    ),
  };
}

/**
 * Runs one request through its plan, however it reached the executor: a
 * prediction through the graph, Seldon feedback along its routing. Never
 * rejects: a failure is an answer in the graph error shape.
 *
 * `headers` are lowercased and include the request's pseudo-headers.
 */
export async function answerRequest(
  plan: ExecutionPlan,
  headers: ReadonlyMap<string, string>,
  body: Buffer,
  services: RunServices,
  log: (message: string) => void,
): Promise<GraphResult> {
  if (body.length > plan.maxBodyBytes) return errorResult(plan, tooLarge(plan, body.length));
  const [path, query] = (headers.get(':path') ?? '').split('?', 2);
  try {
    return path === SELDON_FEEDBACK_PATH
      ? await runFeedback(plan, body, services.hops)
      : await runGraph(
          plan,
          {
            headers,
            query: new URLSearchParams(query ?? ''),
            body,
            contentType: headers.get('content-type') ?? 'application/json',
          },
          services,
        );
  } catch (error) {
    if (error instanceof StepError) return errorResult(plan, error);
    log(
      `graph ${plan.graph}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return errorResult(
      plan,
      new StepError(502, 'executor', `the executor failed: ${String(error)}`),
    );
  }
}
