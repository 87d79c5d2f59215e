import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GraphModel } from '../../src/graph/model.ts';
import { checkGraphSet, partitionGraphSet } from '../../src/graph/graph-set.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { graphDocument } from './fixtures/documents.ts';

/** A one-model graph; `settings` are extra spec lines, `nodes` extra node lines. */
function text(name: string, settings = '', nodes = '', entry = 'a'): string {
  return graphDocument(
    `  entry: ${entry}\n${settings}  nodes:\n    a: { kind: model, endpoint: { url: "http://a" } }\n${nodes}`,
    name,
  );
}

function graph(source: string, name: string, settings = '', nodes = '', entry = 'a'): GraphModel {
  const { graphs, diagnostics } = loadGraphDocuments(source, text(name, settings, nodes, entry));
  assert.deepEqual(diagnostics, []);
  return graphs[0] ?? assert.fail();
}

/** A graph whose entry is a sequence through the model and then the nested graph `target`. */
function nesting(source: string, name: string, target: string): GraphModel {
  return graph(
    source,
    name,
    '',
    `    s: { kind: sequence, steps: [{ node: a }, { node: g }] }\n    g: { kind: graph, graph: ${target} }\n`,
    's',
  );
}

test('duplicate graph names: the first keeps the name', () => {
  const first = graph('a.yaml', 'fraud');
  const second = graph('b.yaml', 'fraud', '  host: other.example.com\n');
  const result = partitionGraphSet([first, second]);
  assert.deepEqual(result.diagnostics, [
    {
      code: 'duplicate-name',
      source: 'b.yaml',
      path: 'metadata.name',
      message: 'graph "fraud" is already defined in a.yaml',
      hint: 'give each graph its own metadata.name (or namespace)',
    },
  ]);
  assert.deepEqual(result.accepted, [first]);
  assert.deepEqual(checkGraphSet([first, second]), result.diagnostics);
});

test('graphs claiming the same host and public path conflict, naming both sources', () => {
  const seldon = '  protocol: seldon\n  host: income.example.com\n';
  const s1 = graph('s1.yaml', 's1', seldon);
  const s2 = graph('s2.yaml', 's2', seldon);
  const elsewhere = graph('s3.yaml', 's3', '  protocol: seldon\n  host: other.example.com\n');
  // V2 paths name the graph, so the namespace does not keep two graphs of one name apart.
  const risk = graph('risk.yaml', 'fraud');
  const ops = { ...risk, namespace: 'ops', source: 'ops.yaml' };
  const v1 = graph('v1.yaml', 'fraud2', '  protocol: v1\n');
  const result = partitionGraphSet([s1, s2, elsewhere, risk, ops, v1]);
  assert.deepEqual(
    result.diagnostics.map((d) => [d.code, d.source, d.path, d.message, d.hint]),
    [
      [
        'conflicting-route',
        's2.yaml',
        'spec.host',
        'host "income.example.com" path /api/v1.0/predictions is already served by graph "s1" (s1.yaml)',
        'the Seldon protocol has one path per host: give each Seldon graph its own spec.host',
      ],
      [
        'conflicting-route',
        'ops.yaml',
        'spec.host',
        'host "*" path /v2/models/fraud/infer is already served by graph "fraud" (risk.yaml)',
        'give the graph another name or spec.host',
      ],
    ],
  );
  assert.deepEqual(
    result.accepted.map((g) => g.source),
    ['s1.yaml', 's3.yaml', 'risk.yaml', 'v1.yaml'],
  );
});

test('a nested graph must exist and be served; a graph nesting a left-out one is left out too', () => {
  const outer = nesting('outer.yaml', 'outer', 'middle');
  const middle = nesting('middle.yaml', 'middle', 'inner');
  const typo = nesting('typo.yaml', 'typo', 'midle');
  const inner = graph('inner.yaml', 'inner', '  protocol: seldon\n');
  const rival = graph('rival.yaml', 'rival', '  protocol: seldon\n');
  const result = partitionGraphSet([rival, outer, middle, typo, inner]);
  assert.deepEqual(
    result.diagnostics.map((d) => [d.code, d.source, d.path, d.message, d.hint]),
    [
      [
        'conflicting-route',
        'inner.yaml',
        'spec.host',
        'host "*" path /api/v1.0/predictions is already served by graph "rival" (rival.yaml)',
        'the Seldon protocol has one path per host: give each Seldon graph its own spec.host',
      ],
      [
        'dangling-reference',
        'middle.yaml',
        'spec.nodes.g.graph',
        'graph "inner" (inner.yaml) is not served, so this graph cannot nest it',
        'fix the problems reported for inner.yaml',
      ],
      [
        'dangling-reference',
        'typo.yaml',
        'spec.nodes.g.graph',
        'there is no graph "midle"',
        'did you mean "middle"?',
      ],
      [
        'dangling-reference',
        'outer.yaml',
        'spec.nodes.g.graph',
        'graph "middle" (middle.yaml) is not served, so this graph cannot nest it',
        'fix the problems reported for middle.yaml',
      ],
    ],
  );
  assert.deepEqual(result.accepted, [rival]);
});

test('graphs may not nest each other in a cycle', () => {
  const a = nesting('a.yaml', 'a', 'b');
  const b = nesting('b.yaml', 'b', 'a');
  const self = nesting('self.yaml', 'self', 'self');
  const user = nesting('user.yaml', 'user', 'a');
  const leaf = graph('leaf.yaml', 'leaf');
  const fine = nesting('fine.yaml', 'fine', 'leaf');
  const result = partitionGraphSet([user, a, b, self, leaf, fine]);
  const hint = 'a graph cannot contain itself: remove one of these graph nodes';
  assert.deepEqual(
    result.diagnostics.map((d) => [d.code, d.source, d.path, d.message, d.hint]),
    [
      [
        'cycle',
        'a.yaml',
        'spec.nodes.g.graph',
        'graphs nest each other in a cycle: a → b → a',
        hint,
      ],
      [
        'cycle',
        'b.yaml',
        'spec.nodes.g.graph',
        'graphs nest each other in a cycle: a → b → a',
        hint,
      ],
      [
        'cycle',
        'self.yaml',
        'spec.nodes.g.graph',
        'graphs nest each other in a cycle: self → self',
        hint,
      ],
      [
        'dangling-reference',
        'user.yaml',
        'spec.nodes.g.graph',
        'graph "a" (a.yaml) is not served, so this graph cannot nest it',
        'fix the problems reported for a.yaml',
      ],
    ],
  );
  assert.deepEqual(result.accepted, [leaf, fine]);
});
