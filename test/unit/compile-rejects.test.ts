import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGraphs } from '../../src/controller/compile.ts';
import type { GraphModel, NodeModel } from '../../src/graph/model.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { defaultListener } from '../support/listener.ts';

function graph(name: string, header: string): GraphModel {
  const nodes: [string, NodeModel][] = [
    ['m', { kind: 'model', endpoint: { addresses: ['127.0.0.1:9000'] } }],
    ['w', { kind: 'switch', cases: [{ when: { header, equals: 'x' }, to: 'm' }], default: 'm' }],
  ];
  return {
    name,
    namespace: undefined,
    source: `${name}.yaml`,
    host: '*',
    protocol: 'v2',
    timeoutMs: 1000,
    entry: 'w',
    propagateHeaders: [],
    returnOutputs: [],
    maxRequestBytes: 10485760,
    hops: 'envoy',
    nodes: new Map(nodes),
    order: ['w', 'm'],
  };
}

test('a graph whose resources break Envoy’s PGV rules is left out, reported against its source', () => {
  // The spec layer never lets such a header name through; this builds the model directly to
  // prove the last line of defence: nothing Envoy would NACK is pushed.
  const compiled = compileGraphs(
    [graph('good', 'x-tier'), graph('bad', 'x\ntier')],
    defaultListener(),
    envoyProtos(),
  );
  assert.deepEqual(compiled.accepted, ['default/good']);
  assert.equal(compiled.diagnostics.length, 1);
  const [problem] = compiled.diagnostics;
  assert.equal(problem?.source, 'bad.yaml');
  assert.match(
    problem.message,
    /^Envoy would reject the compiled RouteConfiguration\.virtual_hosts\[0\]\.routes\[4\]\.match\.headers\[0\]\.name: .* \(string\.well_known_regex\)$/,
  );
  const routes = JSON.stringify([...compiled.resources.values()].map((m) => [...m.values()]));
  assert.ok(!routes.includes('default/bad'), 'nothing of the rejected graph is pushed');
});
