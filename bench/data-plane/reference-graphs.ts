/**
 * The reference graphs G1–G7 of the data-plane benchmarks, their models all
 * at `models`. G7, a two-step sequence ending in a model, is the executor
 * graph Envoy finishes: the executor runs step a and hands the request back
 * to Envoy (ext_proc) for step b.
 */

/** The name of a reference graph run with direct hops (S-direct): "g3" → "g3-direct". */
export function directGraphName(graph: string): string {
  return `${graph}-direct`;
}

/**
 * The reference graphs; with `hops: 'direct'`, each as a graph of direct
 * hops named by directGraphName, beside the others in one control plane.
 */
export function referenceGraphs(
  models: string,
  hops: 'envoy' | 'direct' = 'envoy',
): Record<string, string> {
  const graphFile = (name: string, entry: string, nodes: string) =>
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${hops === 'direct' ? directGraphName(name) : name} }
spec:
  entry: ${entry}
${hops === 'direct' ? '  hops: direct\n' : ''}  nodes:
${nodes}`;
  const model = (name: string, as = name) =>
    `    ${name}: { kind: model, model: ${as}, endpoint: { addresses: ["${models}"] } }\n`;
  return {
    'g1.yaml': graphFile('g1', 'm', model('m')),
    'g2.yaml': graphFile(
      'g2',
      'split',
      `    split: { kind: splitter, routes: [{ to: a, weight: 90 }, { to: b, weight: 10 }] }\n` +
        model('a', 'm-a') +
        model('b', 'm-b'),
    ),
    'g3.yaml': graphFile(
      'g3',
      'post',
      `    post: { kind: output-transformer, model: post, to: pre, endpoint: { addresses: ["${models}"] } }
    pre: { kind: transformer, model: pre, to: m, endpoint: { addresses: ["${models}"] } }
` + model('m'),
    ),
    'g4.yaml': graphFile(
      'g4',
      'all',
      `    all: { kind: ensemble, children: [e1, e2, e3], combine: mean }\n` +
        model('e1') +
        model('e2') +
        model('e3'),
    ),
    'g5.yaml': graphFile(
      'g5',
      'sw',
      `    sw: { kind: switch, cases: [{ when: { body: "$.parameters.tier", equals: gold }, to: a }], default: b }\n` +
        model('a', 'm-a') +
        model('b', 'm-b'),
    ),
    'g6.yaml': graphFile(
      'g6',
      'all',
      `    all: { kind: ensemble, children: [e1, e2, e3], combiner: comb }
    comb: { kind: combiner, endpoint: { addresses: ["${models}"] } }
` +
        model('e1') +
        model('e2') +
        model('e3'),
    ),
    'g7.yaml': graphFile(
      'g7',
      'seq',
      `    seq: { kind: sequence, steps: [{ node: a }, { node: b }] }\n` +
        model('a', 'm-a') +
        model('b', 'm-b'),
    ),
  };
}
