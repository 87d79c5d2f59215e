import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GraphModel } from '../../src/graph/model.ts';
import { loadGraphDocuments, loadGraphObject } from '../../src/graph/load.ts';
import { MODELS, SOURCE, graphDocument, read } from './fixtures/documents.ts';
import { MAX_GRAPH_DEPTH } from '../../src/spec/limits.ts';

function load(text: string): GraphModel {
  const { graphs, diagnostics } = loadGraphDocuments(SOURCE, text);
  assert.deepEqual(diagnostics, []);
  assert.equal(graphs.length, 1);
  return graphs[0] ?? assert.fail();
}

test('defaults: host "*", protocol v2, 30s, no propagated headers, no namespace', () => {
  const graph = load(graphDocument(`  entry: a\n  nodes:\n${MODELS.split('\n')[0] ?? ''}\n`));
  assert.equal(graph.name, 'fraud');
  assert.equal(graph.namespace, undefined);
  assert.equal(graph.source, SOURCE);
  assert.equal(graph.host, '*');
  assert.equal(graph.protocol, 'v2');
  assert.equal(graph.timeoutMs, 30_000);
  assert.deepEqual(graph.propagateHeaders, []);
  assert.equal(graph.entry, 'a');
  assert.deepEqual(graph.order, ['a']);
});

test('given settings win over defaults; durations become milliseconds', () => {
  const graph = load(
    graphDocument(`  entry: a
  host: Income.Example.com
  protocol: seldon
  timeout: 1.5s
  propagateHeaders: [x-tenant]
  nodes:
${MODELS.split('\n')[0] ?? ''}
`).replace('  name: fraud', '  name: fraud\n  namespace: risk'),
  );
  assert.equal(graph.namespace, 'risk');
  assert.equal(graph.host, 'income.example.com');
  assert.equal(graph.protocol, 'seldon');
  assert.equal(graph.timeoutMs, 1500);
  assert.deepEqual(graph.propagateHeaders, ['x-tenant']);
});

test('an object already parsed (a Kubernetes resource) loads without YAML: its graph, or every problem by path', () => {
  const resource = {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'InferenceGraph',
    metadata: { name: 'fraud', namespace: 'risk', uid: 'c0ffee', resourceVersion: '7' },
    spec: { entry: 'a', nodes: { a: { kind: 'model', endpoint: { url: 'http://a:8080' } } } },
  };
  const loaded = loadGraphObject('risk/fraud', resource);
  assert.deepEqual(loaded.diagnostics, []);
  assert.equal(loaded.graph?.namespace, 'risk');
  assert.equal(loaded.graph.source, 'risk/fraud');
  const broken = loadGraphObject('risk/fraud', {
    ...resource,
    spec: { entry: 'b', timeout: 'soon', nodes: resource.spec.nodes },
  });
  assert.equal(broken.graph, undefined);
  assert.deepEqual(
    broken.diagnostics.map((d) => [d.source, d.code, d.path]),
    [
      ['risk/fraud', 'invalid-duration', 'spec.timeout'],
      ['risk/fraud', 'missing-entry', 'spec.entry'],
    ],
  );
});

test('node durations are read once, into milliseconds: no duration text reaches the planner', () => {
  const graph = load(
    graphDocument(`  entry: a
  nodes:
    a: { kind: model, endpoint: { url: "http://x:8080" }, timeout: 1.5s, retries: { attempts: 2, perTryTimeout: 250ms, on: [reset] }, outlierDetection: { consecutive5xx: 3, interval: 10s, baseEjectionTime: 1m } }
`),
  );
  const node = graph.nodes.get('a');
  assert.ok(node?.kind === 'model');
  assert.equal(node.timeoutMs, 1500);
  assert.ok(!('timeout' in node));
  assert.deepEqual(node.retries, { attempts: 2, perTryTimeoutMs: 250, on: ['reset'] });
  assert.deepEqual(node.outlierDetection, {
    consecutive5xx: 3,
    intervalMs: 10_000,
    baseEjectionTimeMs: 60_000,
  });
});

test('a valid graph of each node kind is accepted', () => {
  const endpoint = '{ url: "http://x:8080" }';
  const graphs: Record<string, string> = {
    model: `    a: { kind: model, protocol: v1, model: iris, endpoint: ${endpoint}, timeout: 2s, retries: { attempts: 2, perTryTimeout: 500ms, on: [5xx, reset] }, dependency: soft, propagateHeaders: [x-b3-traceid], circuitBreaker: { maxRequests: 10 }, outlierDetection: { consecutive5xx: 3, interval: 10s } }`,
    transformer: `    a: { kind: transformer, to: m, endpoint: ${endpoint} }`,
    'output-transformer': `    a: { kind: output-transformer, to: m, endpoint: ${endpoint} }`,
    router: `    a: { kind: router, children: [m, n], then: o, endpoint: ${endpoint} }`,
    combiner: `    a: { kind: ensemble, children: [m, n], combiner: c }\n    c: { kind: combiner, endpoint: ${endpoint} }`,
    splitter: `    a: { kind: splitter, stickyHeader: x-user, routes: [{ to: m, weight: 0 }, { to: n, weight: 3 }] }`,
    switch: `    a: { kind: switch, cases: [{ when: { header: x-tier, in: [gold, 1] }, to: m }, { when: { body: "$.score", gte: 0.5 }, to: n }], default: o }`,
    mirror: `    a: { kind: mirror, to: m, shadow: n, percent: 12.5 }`,
    sequence: `    a: { kind: sequence, steps: [{ node: m }, { node: n, input: request }, { node: o, input: m }], stopWhen: { body: "$.done", equals: true } }`,
    ensemble: `    a: { kind: ensemble, children: [m, n], combine: vote, then: o }`,
    graph: `    a: { kind: sequence, steps: [{ node: m }, { node: g }] }\n    g: { kind: graph, graph: other }`,
  };
  for (const [kind, nodes] of Object.entries(graphs)) {
    const leaves = ['m', 'n', 'o']
      .filter((leaf) => new RegExp(`\\b${leaf}\\b`).test(nodes))
      .map((leaf) => `    ${leaf}: { kind: model, endpoint: { addresses: ["10.0.0.1:80"] } }\n`);
    const graph = load(graphDocument(`  entry: a\n  nodes:\n${nodes}\n${leaves.join('')}`));
    assert.ok(
      [...graph.nodes.values()].some((node) => node.kind === kind),
      kind,
    );
  }
});

test('nodes are kept in name order; order is topological, ties broken by name', () => {
  // z → (y, x) → w: w comes after both x and y, x before y by name.
  const graph = load(
    graphDocument(`  entry: z
  nodes:
    z: { kind: ensemble, children: [y, x], combine: merge }
    y: { kind: transformer, to: w, endpoint: { url: "http://y" } }
    x: { kind: transformer, to: w, endpoint: { url: "http://x" } }
    w: { kind: model, endpoint: { url: "http://w" } }
`),
  );
  assert.deepEqual([...graph.nodes.keys()], ['w', 'x', 'y', 'z']);
  assert.deepEqual(graph.order, ['z', 'x', 'y', 'w']);
  // A node reached along a long path and a short one comes after the long one.
  const chain = load(
    graphDocument(`  entry: s
  nodes:
    s: { kind: sequence, steps: [{ node: b }, { node: a }] }
    a: { kind: model, endpoint: { url: "http://a" } }
    b: { kind: transformer, to: c, endpoint: { url: "http://b" } }
    c: { kind: transformer, to: a, endpoint: { url: "http://c" } }
`),
  );
  assert.deepEqual(chain.order, ['s', 'b', 'c', 'a']);
});

test('the entry must name a node, with did-you-mean', () => {
  assert.deepEqual(read(graphDocument(`  entry: aa\n  nodes:\n${MODELS}`)), [
    [
      'missing-entry',
      'spec.entry',
      'the entry node "aa" is not among the nodes',
      'did you mean "a"?',
    ],
  ]);
  assert.deepEqual(read(graphDocument(`  entry: zzzz\n  nodes:\n${MODELS}`)), [
    [
      'missing-entry',
      'spec.entry',
      'the entry node "zzzz" is not among the nodes',
      'name one of: a, b',
    ],
  ]);
});

test('every reference resolves, reported at the referring field with did-you-mean', () => {
  const text = graphDocument(`  entry: s
  nodes:
    s: { kind: sequence, steps: [{ node: split }, { node: sw }, { node: mirorr }, { node: e }, { node: r }] }
    split: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: bb, weight: 1 }] }
    sw: { kind: switch, cases: [{ when: { header: x, present: true }, to: a }], default: nope }
    mirror: { kind: mirror, to: a, shadow: c }
    e: { kind: ensemble, children: [a, b], combiner: combine }
    r: { kind: router, children: [a], then: t, endpoint: { url: "http://r" } }
    t: { kind: transformer, to: x, endpoint: { url: "http://t" } }
${MODELS}`);
  assert.deepEqual(
    read(text).map(([code, path, message, hint]) => [code, path, message, hint]),
    [
      [
        'dangling-reference',
        'spec.nodes.s.steps[2].node',
        'there is no node "mirorr"',
        'did you mean "mirror"?',
      ],
      [
        'dangling-reference',
        'spec.nodes.split.routes[1].to',
        'there is no node "bb"',
        'did you mean "b"?',
      ],
      [
        'dangling-reference',
        'spec.nodes.sw.default',
        'there is no node "nope"',
        'define it under spec.nodes, or refer to one of: a, b, e, mirror, r, s, split, sw, t',
      ],
      [
        'dangling-reference',
        'spec.nodes.mirror.shadow',
        'there is no node "c"',
        'define it under spec.nodes, or refer to one of: a, b, e, mirror, r, s, split, sw, t',
      ],
      [
        'dangling-reference',
        'spec.nodes.e.combiner',
        'there is no node "combine"',
        'define it under spec.nodes, or refer to one of: a, b, e, mirror, r, s, split, sw, t',
      ],
      [
        'dangling-reference',
        'spec.nodes.t.to',
        'there is no node "x"',
        'define it under spec.nodes, or refer to one of: a, b, e, mirror, r, s, split, sw, t',
      ],
    ],
  );
});

test('an ensemble’s combiner must be a combiner node', () => {
  assert.deepEqual(
    read(
      graphDocument(
        `  entry: e\n  nodes:\n    e: { kind: ensemble, children: [a], combiner: b }\n${MODELS}`,
      ),
    ),
    [
      [
        'invalid-value',
        'spec.nodes.e.combiner',
        '"b" is a model node, not a combiner',
        'point combiner at a node of kind combiner, or use combine: with a built-in',
      ],
    ],
  );
});

test('cycles are named, at the reference that closes them', () => {
  const hint = 'a graph is acyclic: remove one of these references';
  const text = graphDocument(`  entry: t1
  nodes:
    t1: { kind: transformer, to: t2, endpoint: { url: "http://t" } }
    t2: { kind: transformer, to: t3, endpoint: { url: "http://t" } }
    t3: { kind: transformer, to: t1, endpoint: { url: "http://t" } }
`);
  assert.deepEqual(read(text), [
    ['cycle', 'spec.nodes.t3.to', 'the nodes form a cycle: t1 → t2 → t3 → t1', hint],
  ]);
  const self = graphDocument(
    `  entry: s\n  nodes:\n    s: { kind: mirror, to: a, shadow: s }\n${MODELS}`,
  );
  assert.deepEqual(read(self), [
    ['cycle', 'spec.nodes.s.shadow', 'the nodes form a cycle: s → s', hint],
    [
      'invalid-value',
      'spec.nodes.b',
      'node "b" is not reachable from the entry "s"',
      'remove it, or refer to it from a node on the way',
    ],
  ]);
});

test('nodes unreachable from the entry are reported, unless a reference is misspelt', () => {
  assert.deepEqual(
    read(
      graphDocument(
        `  entry: t\n  nodes:\n    t: { kind: transformer, to: a, endpoint: { url: "http://t" } }\n${MODELS}`,
      ),
    ),
    [
      [
        'invalid-value',
        'spec.nodes.b',
        'node "b" is not reachable from the entry "t"',
        'remove it, or refer to it from a node on the way',
      ],
    ],
  );
  // "bb" was meant to be b: saying b is unreachable as well would only be noise.
  assert.deepEqual(
    read(
      graphDocument(
        `  entry: s\n  nodes:\n    s: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: bb, weight: 1 }] }\n${MODELS}`,
      ),
    ).map(([code, path]) => [code, path]),
    [['dangling-reference', 'spec.nodes.s.routes[1].to']],
  );
});

test('a long chain of nodes neither overflows the stack nor loses the order', () => {
  const chain = (count: number) =>
    Array.from({ length: count }, (_, i) =>
      i === count - 1
        ? `    n${i}: { kind: model, endpoint: { url: "http://m" } }`
        : `    n${i}: { kind: transformer, to: n${i + 1}, endpoint: { url: "http://t" } }`,
    );
  // As deep as a graph may nest.
  const count = MAX_GRAPH_DEPTH;
  const graph = load(graphDocument(`  entry: n0\n  nodes:\n${chain(count).join('\n')}\n`));
  assert.equal(graph.order.length, count);
  assert.equal(graph.order[0], 'n0');
  assert.equal(graph.order.at(-1), `n${count - 1}`);
  // Three times deeper: measured, and refused as the limit it passes.
  const deeper = chain(3 * count);
  assert.deepEqual(read(graphDocument(`  entry: n0\n  nodes:\n${deeper.join('\n')}\n`)), [
    [
      'limit-exceeded',
      `spec.nodes.n${String(count)}`,
      `the graph nests ${String(3 * count)} nodes deep from its entry (n0 → n1 → n2 → …), past the ${String(count)} a graph may`,
      'move part of the chain into a graph of its own, called by a node of kind graph',
    ],
  ]);
  const cyclic = deeper
    .slice(0, -1)
    .concat(`    n${3 * count - 1}: { kind: transformer, to: n0, endpoint: { url: "http://t" } }`);
  const found = read(graphDocument(`  entry: n0\n  nodes:\n${cyclic.join('\n')}\n`));
  assert.equal(found.length, 1);
  assert.equal(found[0]?.[0], 'cycle');
});
