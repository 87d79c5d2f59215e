import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PageModel } from '../../src/controller/status-page.ts';
import { statusPageRoutes } from '../../src/controller/status-page.ts';
import type { ControlPlaneStatus, GraphStatus } from '../../src/controller/status.ts';
import { TrafficWindow } from '../../src/controller/traffic-window.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import type { GraphModel } from '../../src/graph/model.ts';

const examples = join(import.meta.dirname, '..', '..', 'examples');

function example(file: string): GraphModel {
  const graph = loadGraphDocuments(file, readFileSync(join(examples, file), 'utf8')).graphs[0];
  assert.ok(graph, file);
  return graph;
}

function graphStatus(id: string, source: string, fields: Partial<GraphStatus> = {}): GraphStatus {
  return {
    id,
    group: 'switchyard',
    source,
    version: 'v7',
    programmedOn: 1,
    programmedBy: ['envoy-a'],
    envoys: 1,
    problems: [],
    executors: [],
    ...fields,
  };
}

async function model(
  status: ControlPlaneStatus,
  graphs: GraphModel[],
  traffic = new TrafficWindow(),
  query = '',
): Promise<PageModel> {
  const route = statusPageRoutes({
    status: () => status,
    served: () => [{ group: 'switchyard', graphs }],
    traffic,
  }).get('/ui/graphs');
  assert.ok(route);
  return JSON.parse(await route.body(new URLSearchParams(query))) as PageModel;
}

test('a graph is programmed when every Envoy of its group ACKed it, accepted before, rejected when a newer version was refused', async () => {
  const fraud = example('fraud-canary.yaml');
  const tiered = example('tiered.yaml');
  const shadow = example('shadow.yaml');
  const page = await model(
    {
      envoys: [],
      graphs: [
        graphStatus('default/fraud', fraud.source),
        graphStatus('default/tiered', tiered.source, {
          programmedOn: 1,
          programmedBy: ['envoy-a'],
          envoys: 2,
        }),
        graphStatus('default/sentiment', shadow.source),
      ],
      problems: [{ source: shadow.source, diagnostics: ['shadow.yaml: spec.entry: …'] }],
    },
    [fraud, tiered, shadow],
  );
  assert.deepEqual(
    page.graphs.map((graph) => [graph.id, graph.state]),
    [
      ['default/fraud', 'programmed'],
      ['default/sentiment', 'rejected'],
      ['default/tiered', 'accepted'],
    ],
  );
  assert.deepEqual(page.states, { programmed: 1, accepted: 1, rejected: 1 });
  assert.deepEqual(page.rejected, [{ source: shadow.source, problems: 1 }]);
  // What a switch compares against stays off the page.
  const text = JSON.stringify(page);
  assert.doesNotMatch(text, /gold|fast|127\.0\.0\.1/);
  assert.match(text, /header x-tier = …/);
});

test("the page's arrows carry the configured and the observed split and each target's traffic", async () => {
  const fraud = example('fraud-canary.yaml');
  const traffic = new TrafficWindow();
  traffic.record('switchyard/default/fraud/fraud-v1', 'requests', 80);
  traffic.record('switchyard/default/fraud/fraud-v2', 'requests', 20);
  traffic.record('switchyard/default/fraud/fraud-v2', 'errors', 5);
  const page = await model(
    { envoys: [], graphs: [graphStatus('default/fraud', fraud.source)], problems: [] },
    [fraud],
    traffic,
  );
  const [graph] = page.graphs;
  assert.ok(graph);
  assert.deepEqual(
    graph.edges.map(({ from, to, weightPercent, observedPercent, traffic: seen }) => ({
      from,
      to,
      weightPercent,
      observedPercent,
      requests: seen?.requests,
      errors: seen?.errors,
    })),
    [
      {
        from: 'canary',
        to: 'fraud-v1',
        weightPercent: 90,
        observedPercent: 80,
        requests: 80,
        errors: 0,
      },
      {
        from: 'canary',
        to: 'fraud-v2',
        weightPercent: 10,
        observedPercent: 20,
        requests: 20,
        errors: 5,
      },
    ],
  );
  assert.match(graph.svg, /<svg /);
  assert.match(graph.svg, /5 5xx \(25\.0%\)/);
});

test('an entry with a cluster of its own gets a row for the calls into the graph', async () => {
  const scored = example('scored.yaml');
  const traffic = new TrafficWindow();
  traffic.record('switchyard/default/scored/prepare', 'requests', 7);
  const page = await model(
    { envoys: [], graphs: [graphStatus('default/scored', scored.source)], problems: [] },
    [scored],
    traffic,
  );
  const first = page.graphs[0]?.edges[0];
  assert.equal(first?.from, '');
  assert.equal(first.to, 'prepare');
  assert.equal(first.traffic?.requests, 7);
});

test('one page of the matching graphs is drawn, in order; every graph is counted', async () => {
  const fraud = example('fraud-canary.yaml');
  // 45 copies of one graph under other names, every fifth (g04, g09, …) not yet ACKed
  // everywhere: the page draws 20 of them at most.
  const names = Array.from({ length: 45 }, (_, i) => `default/g${String(i).padStart(2, '0')}`);
  const graphs = names.map((id) => ({ ...fraud, name: id.slice('default/'.length) }));
  const status: ControlPlaneStatus = {
    envoys: [],
    graphs: [...names]
      .reverse()
      .map((id, i) => graphStatus(id, fraud.source, i % 5 === 0 ? { programmedOn: 0 } : {})),
    problems: [],
  };
  const first = await model(status, graphs);
  assert.equal(first.total, 45);
  assert.deepEqual(first.states, { programmed: 36, accepted: 9, rejected: 0 });
  assert.equal(first.matched, 45);
  assert.deepEqual(
    first.graphs.map((graph) => graph.id),
    names.slice(0, 20),
  );
  const last = await model(status, graphs, new TrafficWindow(), 'offset=40&limit=20');
  assert.deepEqual(
    last.graphs.map((graph) => graph.id),
    names.slice(40),
  );
  const filtered = await model(status, graphs, new TrafficWindow(), 'filter=G1&state=programmed');
  assert.deepEqual(
    filtered.graphs.map((graph) => graph.id),
    [
      'default/g10',
      'default/g11',
      'default/g12',
      'default/g13',
      'default/g15',
      'default/g16',
      'default/g17',
      'default/g18',
    ],
  );
  assert.equal(filtered.matched, 8);
  assert.equal(filtered.total, 45);
});

test('a query that names no page is refused with what is wrong', async () => {
  const route = statusPageRoutes({
    status: () => ({ envoys: [], graphs: [], problems: [] }),
    served: () => [],
    traffic: new TrafficWindow(),
  }).get('/ui/graphs');
  assert.ok(route);
  for (const [query, reason] of [
    ['limit=0', /limit "0" is not a whole number from 1 to 100/],
    ['limit=1000', /limit "1000"/],
    ['offset=-1', /offset "-1"/],
    ['offset=1.5', /offset "1.5"/],
    ['state=running', /state "running" is not one of programmed, accepted, rejected/],
    ['page=2', /unknown parameter "page"/],
  ] as const) {
    await assert.rejects(
      Promise.resolve().then(() => route.body(new URLSearchParams(query))),
      {
        name: 'BadQuery',
        message: reason,
      },
    );
  }
});
