import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BODY_FILTER } from '../../src/envoy/body-fields.ts';
import { compileGraphs } from '../../src/controller/compile.ts';
import { SELF_CLUSTER } from '../../src/envoy/cluster.ts';
import { EXECUTOR_CLUSTER } from '../../src/envoy/ext-proc.ts';
import { LISTENER_NAME } from '../../src/envoy/listener.ts';
import { resourceFacts } from '../../src/envoy/resource-facts.ts';
import {
  CLUSTER,
  ENDPOINT,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  type ResourceTypeUrl,
} from '../../src/envoy/type-urls.ts';
import { graphOfUpstream } from '../../src/plan/upstreams.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { defaultListener } from '../support/listener.ts';

const listener = defaultListener();

const text = `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: tiered, namespace: team }
spec:
  entry: tier
  nodes:
    tier:
      kind: switch
      cases: [{ when: { body: "$.tier", equals: gold }, to: large }]
      default: small
    large: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }
    small: { kind: model, endpoint: { url: "http://small.example:9002" } }
`;

const compiled = compileGraphs(
  loadGraphDocuments('tiered.yaml', text).graphs,
  listener,
  envoyProtos(),
);
const facts = (typeUrl: ResourceTypeUrl, name: string) => {
  const resource = compiled.resources.get(typeUrl)?.get(name);
  assert.ok(resource, name);
  return resourceFacts(typeUrl, name, resource);
};

test('an upstream id names its graph; other names name none', () => {
  assert.equal(graphOfUpstream('team/tiered/large'), 'team/tiered');
  assert.equal(graphOfUpstream(EXECUTOR_CLUSTER), undefined);
  assert.equal(graphOfUpstream('team/tiered'), undefined);
  assert.equal(graphOfUpstream('a/b/c/d'), undefined);
});

test('clusters and endpoints carry their graph; an EDS cluster keeps its endpoints along', () => {
  assert.deepEqual(facts(CLUSTER, 'team/tiered/large'), {
    graphs: ['team/tiered'],
    needs: [{ typeUrl: ENDPOINT, name: 'team/tiered/large', order: 'alongside' }],
    provides: [],
  });
  assert.deepEqual(facts(CLUSTER, 'team/tiered/small').needs, [], 'a DNS cluster has no EDS');
  assert.deepEqual(facts(ENDPOINT, 'team/tiered/large').graphs, ['team/tiered']);
  assert.deepEqual(facts(CLUSTER, EXECUTOR_CLUSTER).graphs, [], 'shared');
});

test('a route table carries the graphs of its routes and needs their clusters and body values first', () => {
  const table = facts(ROUTE, 'switchyard-graphs/tiered');
  assert.deepEqual(table.graphs, ['team/tiered']);
  assert.deepEqual(
    table.needs
      .filter((n) => n.typeUrl === CLUSTER)
      .map((n) => [n.name, n.order])
      .sort(),
    [
      // The versioned path goes back through Envoy's own listener.
      [SELF_CLUSTER, 'before'],
      ['team/tiered/large', 'before'],
      ['team/tiered/small', 'before'],
    ],
  );
  assert.deepEqual(
    table.needs.filter((n) => n.typeUrl !== CLUSTER),
    [
      { typeUrl: LISTENER, name: LISTENER_NAME, value: BODY_FILTER, order: 'before' },
      { typeUrl: EXTENSION_CONFIG, name: BODY_FILTER, value: '$.tier', order: 'before' },
    ],
  );
});

test('a readiness table needs the clusters whose health it answers from', () => {
  assert.deepEqual(
    facts(ROUTE, 'switchyard-graphs/ready')
      .needs.map((n) => [n.typeUrl, n.name, n.order])
      .sort(),
    [
      [CLUSTER, 'team/tiered/large', 'before'],
      [CLUSTER, 'team/tiered/small', 'before'],
    ],
  );
});

test('the body filter config provides the values it reads; the listener its filters, and needs the executor', () => {
  assert.deepEqual(facts(EXTENSION_CONFIG, BODY_FILTER).provides, ['$.tier']);
  const graphListener = facts(LISTENER, LISTENER_NAME);
  assert.ok(graphListener.provides.includes(BODY_FILTER));
  assert.deepEqual(graphListener.needs, [
    { typeUrl: CLUSTER, name: EXECUTOR_CLUSTER, order: 'before' },
  ]);
  assert.deepEqual(graphListener.graphs, []);
});
