import { executorWaitMs, type ExecutionPlan } from '../plan/execution.ts';
import { seconds } from './durations.ts';
import { EXECUTOR_HTTP1_CLUSTER, EXECUTOR_RETRIES } from './ext-proc.ts';
import { planCarriage } from './plan-carriage.ts';

/** Envoy reads "%" in an added header's value as the start of a command; "%%" is a literal one. */
function literalHeaderValue(value: string): string {
  return value.replaceAll('%', '%%');
}

/**
 * The route action that sends a request to the executor as to any upstream,
 * for plans that never hand a request back to Envoy. The route sets the
 * plan header (or the reference to it), over any a client sent (the
 * listener also strips clients' copies before routing, so only these routes
 * carry one).
 */
export function executorRoute(plan: ExecutionPlan) {
  const carriage = planCarriage(plan);
  return {
    route: {
      cluster: EXECUTOR_HTTP1_CLUSTER,
      timeout: seconds(executorWaitMs(plan.timeoutMs)),
      // The executor never saw a request it could not be reached for, or that was reset
      // before a byte of it was sent (a reused connection the executor had just closed): safe to retry.
      retry_policy: { retry_on: 'connect-failure,reset-before-request', ...EXECUTOR_RETRIES },
    },
    request_headers_to_add: [
      {
        header: { key: carriage.header, value: literalHeaderValue(carriage.value) },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      },
    ],
  };
}
