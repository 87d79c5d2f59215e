import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGraphs } from '../../src/controller/compile.ts';
import { scopeKeyOf } from '../../src/envoy/scopes.ts';
import { ROUTE } from '../../src/envoy/type-urls.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import type { GraphModel } from '../../src/graph/model.ts';
import { planGraph } from '../../src/plan/plan.ts';
import { requiredNodes } from '../../src/plan/readiness.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { defaultListener } from '../support/listener.ts';

/** What a graph's readiness depends on, and where readiness and the other client paths route. */

function graphOf(name: string, nodes: string, spec = ''): GraphModel {
  const { graphs, diagnostics } = loadGraphDocuments(
    `${name}.yaml`,
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: top
${spec}  nodes:
${nodes}`,
  );
  assert.deepEqual(diagnostics, []);
  const [graph] = graphs;
  assert.ok(graph);
  return graph;
}

const model = (name: string, extra = '') =>
  `    ${name}: { kind: model, endpoint: { addresses: ["127.0.0.1:9000"] }${extra} }\n`;

test('every node a request may need counts; soft ones, shadows and routes of weight 0 do not', () => {
  const graph = graphOf(
    'g',
    `    top: { kind: mirror, to: pick, shadow: audit }
    pick:
      kind: switch
      cases: [{ when: { header: x-tier, equals: gold }, to: split }]
      default: steps
    split: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: never, weight: 0 }] }
    steps: { kind: sequence, steps: [{ node: prep }, { node: fan }] }
    prep: { kind: transformer, to: b, dependency: soft, endpoint: { addresses: ["127.0.0.1:9000"] } }
    fan: { kind: ensemble, children: [c, optional], combiner: joiner }
    joiner: { kind: combiner, endpoint: { addresses: ["127.0.0.1:9000"] } }
${model('audit')}${model('a')}${model('never')}${model('b')}${model('c')}${model('optional', ', dependency: soft')}`,
  );
  assert.deepEqual(requiredNodes(graph), [
    'a',
    'b',
    'c',
    'fan',
    'joiner',
    'pick',
    'split',
    'steps',
    'top',
  ]);
});

test('a graph’s readiness is its needed nodes’ upstreams: a nested graph’s is a cluster of its own', () => {
  const graph = graphOf(
    'nesting',
    `    top: { kind: sequence, steps: [{ node: inner }, { node: m }, { node: later }] }
    inner: { kind: graph, graph: scorer }
    later: { kind: graph, graph: other, dependency: soft }
${model('m')}`,
  );
  const planned = planGraph(graph).planned;
  assert.ok(planned);
  assert.deepEqual(planned.graph.readiness, ['default/nesting/inner', 'default/nesting/m']);
  const inner = planned.upstreams.find((u) => u.id === 'default/nesting/inner');
  assert.deepEqual(inner?.endpoints, { kind: 'listener' });
  assert.equal(inner.healthCheckPath, '/v2/models/scorer/ready');
  assert.equal(
    planned.upstreams.some((u) => u.id === 'default/nesting/later'),
    false,
    'a soft nested graph needs no readiness cluster',
  );
});

test('each protocol asks its nodes its own way, and answers on its own path', () => {
  const path = (protocol: string) => {
    const planned = planGraph(
      graphOf(protocol, model('top', ', model: iris'), `  protocol: ${protocol}\n`),
    ).planned;
    assert.ok(planned);
    return [planned.graph.readinessPath, planned.upstreams[0]?.healthCheckPath];
  };
  assert.deepEqual(path('v2'), ['/v2/models/v2/ready', '/v2/models/iris/ready']);
  assert.deepEqual(path('v1'), ['/v1/models/v1', '/v1/models/iris']);
  assert.deepEqual(path('seldon'), ['/ready', '/health/ping']);
});

test('scope keys: the fourth segment, or "-" for paths shorter than that', () => {
  assert.equal(scopeKeyOf('/v2/models/iris/infer'), 'iris');
  assert.equal(scopeKeyOf('/v2/models/iris/versions/3/infer'), 'iris');
  assert.equal(scopeKeyOf('/v1/models/income:explain'), 'income:explain');
  assert.equal(scopeKeyOf('/seldon/prod/fraud/api/v1.0/predictions'), 'fraud');
  assert.equal(scopeKeyOf('/seldon/fraud/api/v1.0/predictions'), 'api');
  for (const short of ['/', '/v2', '/ready']) assert.equal(scopeKeyOf(short), '-');
});

test('a host’s server readiness checks every graph on it; its root path, its one graph', () => {
  const listener = defaultListener();
  const compiled = compileGraphs(
    [
      graphOf('one', model('top')),
      graphOf('two', model('top'), '  protocol: v1\n'),
      graphOf('alone', model('top'), '  host: alone.example.com\n'),
    ],
    listener,
    envoyProtos(),
  );
  const text = JSON.stringify(compiled.resources.get(ROUTE)?.get('switchyard-graphs/ready'));
  assert.match(text, /"default\/one\/top":\{"value":1\},"default\/two\/top":\{"value":1\}/);
  assert.doesNotMatch(text.split('alone.example.com')[0] ?? '', /default\/alone/);
  const root = JSON.stringify(compiled.resources.get(ROUTE)?.get('switchyard-graphs/-'));
  assert.match(root, /"name":"default\/alone\/root\/0"/);
  assert.match(root, /2 graphs are served on this host/);
});
