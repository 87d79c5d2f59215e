import type { ExecutionPlan } from '../../src/plan/execution.ts';
import { executionPlan } from '../../src/plan/execution-plan.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { referenceGraphs } from './reference-graphs.ts';

/**
 * The plan with every hop sent straight to the node's model path on the
 * benchmark's model server, for runs with no Envoy and so no hop listener.
 */
function directPlan(plan: ExecutionPlan, modelOf: (node: string) => string): ExecutionPlan {
  return JSON.parse(JSON.stringify(plan), (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && 'hop' in value) {
      const hop = String(value.hop);
      return { ...value, hop: `/v2/models/${modelOf(hop.slice(hop.lastIndexOf('/') + 1))}/infer` };
    }
    return value;
  }) as ExecutionPlan;
}

/** The execution plan of reference graph `name` (G3, say), its hops sent straight to the models. */
export function directReferencePlan(name: string): ExecutionPlan {
  const source = referenceGraphs('127.0.0.1:9')[`${name.toLowerCase()}.yaml`] ?? '';
  const [graph] = loadGraphDocuments('g.yaml', source).graphs;
  if (!graph) throw new Error(`${name} does not load`);
  return directPlan(executionPlan(graph, graph.entry), (node) => {
    const spec = graph.nodes.get(node);
    return spec && 'model' in spec ? spec.model : node;
  });
}
