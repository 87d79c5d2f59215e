import type { ExecutionPlan } from '../../src/plan/execution.ts';

/**
 * The plan with every hop sent straight to the node's model path on the
 * benchmark's model server, for runs with no Envoy and so no hop listener.
 */
export function directPlan(plan: ExecutionPlan, modelOf: (node: string) => string): ExecutionPlan {
  return JSON.parse(JSON.stringify(plan), (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && 'hop' in value) {
      const hop = String(value.hop);
      return { ...value, hop: `/v2/models/${modelOf(hop.slice(hop.lastIndexOf('/') + 1))}/infer` };
    }
    return value;
  }) as ExecutionPlan;
}
