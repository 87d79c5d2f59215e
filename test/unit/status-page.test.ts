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
): Promise<PageModel> {
  const route = statusPageRoutes({
    status: () => status,
    served: () => [{ group: 'switchyard', graphs }],
    traffic,
  }).get('/ui/graphs');
  assert.ok(route);
  return JSON.parse(await route.body()) as PageModel;
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
      ['default/tiered', 'accepted'],
      ['default/sentiment', 'rejected'],
    ],
  );
  assert.deepEqual(page.rejected, [{ source: shadow.source, problems: 1 }]);
  // What a switch compares against stays off the page.
  const text = JSON.stringify(page);
  assert.doesNotMatch(text, /gold|fast|127\.0\.0\.1/);
  assert.match(text, /header x-tier = …/);
});

test("the page's arrows carry the configured and the observed split and each target's traffic", async () => {
  const fraud = example('fraud-canary.yaml');
  const traffic = new TrafficWindow();
  traffic.record('default/fraud/fraud-v1', 'requests', 80);
  traffic.record('default/fraud/fraud-v2', 'requests', 20);
  traffic.record('default/fraud/fraud-v2', 'errors', 5);
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
  traffic.record('default/scored/prepare', 'requests', 7);
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
