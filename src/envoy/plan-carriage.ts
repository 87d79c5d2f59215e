import { PLAN_HEADER, PLAN_REFERENCE_HEADER, type ExecutionPlan } from '../plan/execution.ts';
import { planHash } from '../plan/plan-hash.ts';
import type { GraphPlan } from '../plan/types.ts';
import type { EnvoyResource } from './resource-set.ts';
import { EXECUTION_PLAN } from './type-urls.ts';

/**
 * The most bytes Envoy takes in a header value it adds (HeaderValue.value,
 * PGV max_bytes): a plan whose JSON fits travels in its route's header, a
 * larger one by reference.
 */
export const MAX_PLAN_HEADER_BYTES = 16_384;

/** How a route hands the executor its plan: the header it sets, and the plan resource it names. */
export interface PlanCarriage {
  readonly header: typeof PLAN_HEADER | typeof PLAN_REFERENCE_HEADER;
  readonly value: string;
  /** Set when the plan travels by reference: the resource executors get over xDS. */
  readonly resource?: EnvoyResource;
}

/** The resource that carries a plan to executors, named by its hash. */
export function planResource(text: string): EnvoyResource {
  return { '@type': EXECUTION_PLAN, name: planHash(text), plan: text };
}

const carriages = new WeakMap<ExecutionPlan, PlanCarriage>();

/**
 * The one rule that decides how a plan travels: in the route's header when
 * it fits Envoy's limit on a header value, else by reference (its hash in
 * the header, the plan over xDS). Plans that fit need no control plane at
 * the executor, which is how every executor ran before plans had a resource
 * of their own; larger ones would otherwise not run at all.
 */
export function planCarriage(plan: ExecutionPlan): PlanCarriage {
  let carriage = carriages.get(plan);
  if (!carriage) {
    const text = JSON.stringify(plan);
    carriage =
      // Measured as the route header carries it: "%" doubled (executor-route.ts).
      Buffer.byteLength(text.replaceAll('%', '%%')) <= MAX_PLAN_HEADER_BYTES
        ? { header: PLAN_HEADER, value: text }
        : {
            header: PLAN_REFERENCE_HEADER,
            value: planHash(text),
            resource: planResource(text),
          };
    carriages.set(plan, carriage);
  }
  return carriage;
}

/** The plan resources a graph's routes name: one per executor entry and for feedback, if large. */
export function graphPlanResources(graph: GraphPlan): EnvoyResource[] {
  const plans = [
    ...graph.executors.map((executor) => executor.plan),
    ...(graph.feedback ? [graph.feedback] : []),
  ];
  return plans.flatMap((plan): EnvoyResource[] => {
    const { resource } = planCarriage(plan);
    return resource ? [resource] : [];
  });
}
