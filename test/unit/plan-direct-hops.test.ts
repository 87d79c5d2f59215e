import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadGraphObject } from '../../src/graph/load.ts';
import type { GraphModel } from '../../src/graph/model.ts';
import { planGraph } from '../../src/plan/plan.ts';
import type { HopsMode } from '../../src/spec/schema.ts';

/** Transformer t → model m, with `hops` as given (none: the control plane's default). */
function graphOf(hops?: HopsMode): GraphModel {
  const { graph, diagnostics } = loadGraphObject('g.yaml', {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'InferenceGraph',
    metadata: { name: 'g' },
    spec: {
      entry: 't',
      ...(hops !== undefined && { hops }),
      nodes: {
        t: {
          kind: 'transformer',
          to: 'm',
          endpoint: { addresses: ['127.0.0.1:9001', '[::1]:9002'] },
          retries: { attempts: 1 },
        },
        m: { kind: 'model', model: 'scorer', endpoint: { url: 'https://models.example' } },
      },
    },
  });
  assert.deepEqual(diagnostics, []);
  return graph ?? assert.fail();
}

function planned(graph: GraphModel, defaultHops?: HopsMode) {
  const { planned: result, diagnostics } = planGraph(graph, defaultHops);
  assert.deepEqual(diagnostics, []);
  return result?.graph ?? assert.fail();
}

test('direct hops: each node carries its origins, path and retries; no hand-off, so no ext_proc', () => {
  const graph = planned(graphOf('direct'));
  const executor = graph.executors[0] ?? assert.fail();
  assert.equal(executor.transport, 'upstream');
  assert.deepEqual(graph.handoffs, []);
  const { t, m } = executor.plan.nodes;
  assert.ok(t?.kind === 'transformer' && m?.kind === 'model');
  assert.deepEqual(t.direct, {
    origins: ['http://127.0.0.1:9001', 'http://[::1]:9002'],
    path: '/v2/models/t/infer',
    retries: { attempts: 1, on: ['5xx', 'reset', 'connect-failure'] },
  });
  assert.deepEqual(m.direct, {
    origins: ['https://models.example:443'],
    path: '/v2/models/scorer/infer',
  });
  // The hop routes stay: an executor that does not read `direct` calls the nodes through Envoy.
  assert.deepEqual(
    graph.hops.map((hop) => hop.path),
    ['/default/g/m', '/default/g/t'],
  );
});

test('a graph without hops takes the control plane’s default; one that says envoy keeps it', () => {
  const byDefault = planned(graphOf(), 'direct').executors[0]?.plan.nodes.t;
  assert.ok(byDefault?.kind === 'transformer' && byDefault.direct !== undefined);
  const declared = planned(graphOf('envoy'), 'direct').executors[0] ?? assert.fail();
  assert.equal(declared.transport, 'ext_proc');
  const step = declared.plan.nodes.t;
  assert.ok(step?.kind === 'transformer' && step.direct === undefined);
  assert.equal(planned(graphOf()).executors[0]?.transport, 'ext_proc');
});
