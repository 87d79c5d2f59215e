import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDiagnostic } from '../../src/spec/diagnostic.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { MODELS, SOURCE, graphDocument, problems, read } from './fixtures/documents.ts';

const oneModel = (name: string) =>
  graphDocument(`  entry: a\n  nodes:\n${MODELS.split('\n')[0] ?? ''}\n`, name);

test('YAML syntax errors carry line and column', () => {
  assert.deepEqual(read('apiVersion: switchyard.io/v1alpha1\nkind: @InferenceGraph\n'), [
    [
      'yaml-syntax',
      '',
      'line 2, column 7: Plain value cannot start with reserved character @',
      'fix the YAML syntax (indentation, quotes, colons) at that position',
    ],
  ]);
});

test('aliases that resolve nowhere or multiply without end are syntax errors, not crashes', () => {
  const unresolved = problems(`${oneModel('x')}  timeout: *nowhere\n`);
  assert.deepEqual(
    unresolved.map((d) => d.code),
    ['yaml-syntax'],
  );
  const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (const c of 'bcdefghij')
    laughs.push(
      `${c}: &${c} [${Array(10)
        .fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`)
        .join(', ')}]`,
    );
  assert.deepEqual(
    problems(laughs.join('\n')).map((d) => d.code),
    ['yaml-syntax'],
  );
});

test('duplicate node names are reported, not silently the last one kept', () => {
  const text = graphDocument(`  entry: a
  nodes:
${MODELS}    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9003"] } }
`);
  const { graphs, diagnostics } = loadGraphDocuments(SOURCE, text);
  assert.deepEqual(graphs, []);
  assert.deepEqual(
    diagnostics.map((d) => [d.code, d.path, d.message, d.hint]),
    [
      [
        'invalid-value',
        'spec.nodes.b',
        'node "b" is not reachable from the entry "a"',
        'remove it, or refer to it from a node on the way',
      ],
      [
        'duplicate-name',
        'spec.nodes.a',
        'duplicate node name "a"',
        'each node needs its own name: rename or remove one of them',
      ],
    ],
  );
});

test('any other repeated key is reported too', () => {
  assert.deepEqual(read(`${oneModel('x')}  entry: a\n`), [
    [
      'duplicate-name',
      'spec.entry',
      'duplicate key "entry"',
      'each key of a mapping must be unique: remove one of them',
    ],
  ]);
});

test('several documents in one file: each is a graph, each problem says which document', () => {
  const result = loadGraphDocuments(
    'two.yaml',
    `${oneModel('one')}---\n---\n${oneModel('two').replace('entry: a', 'entry: x')}---\n${oneModel('three')}`,
  );
  assert.deepEqual(
    result.graphs.map((g) => g.name),
    ['one', 'three'],
  );
  assert.deepEqual(
    result.diagnostics.map((d) => [d.source, d.path, d.message]),
    [['two.yaml', 'document 3: spec.entry', 'the entry node "x" is not among the nodes']],
  );
  assert.equal(
    formatDiagnostic(result.diagnostics[0] ?? assert.fail()),
    'two.yaml: document 3: spec.entry: the entry node "x" is not among the nodes\n    hint: name one of: a',
  );
});

test('JSON files load through the same path', () => {
  const json = JSON.stringify(
    {
      apiVersion: 'switchyard.io/v1alpha1',
      kind: 'InferenceGraph',
      metadata: { name: 'iris' },
      spec: { entry: 'iris', nodes: { iris: { kind: 'model', endpoint: { url: 'http://iris' } } } },
    },
    null,
    '\t',
  );
  const { graphs, diagnostics } = loadGraphDocuments('iris.json', json);
  assert.deepEqual(diagnostics, []);
  assert.equal(graphs[0]?.name, 'iris');
  const bad = json.replace('"kind": "model"', '"kind": "model", "kind": "model"');
  assert.deepEqual(
    loadGraphDocuments('iris.json', bad).diagnostics.map((d) => [d.code, d.path]),
    [['duplicate-name', 'spec.nodes.iris.kind']],
  );
});

test('an empty file holds no graph', () => {
  for (const text of ['', '# just a comment\n', '---\n']) {
    assert.deepEqual(read(text), [
      [
        'not-a-graph',
        '',
        'the file holds no document',
        'write an InferenceGraph (apiVersion: switchyard.io/v1alpha1, kind: InferenceGraph)',
      ],
    ]);
  }
});

test('a document with several problems reports all of them, once each, in text order', () => {
  const text = graphDocument(`  entry: nowhere
  timeout: soon
  nodes:
    split: { kind: splitter, routes: [{ to: a, wieght: 1 }, { to: c, weight: -2 }] }
    a: { kind: model, endpoint: { url: "http://a:99999" }, timeout: 0s }
    b: { kind: modle }
  protocol: v3
`);
  assert.deepEqual(
    problems(text).map((d) => [d.code, d.path]),
    [
      ['missing-entry', 'spec.entry'],
      ['invalid-duration', 'spec.timeout'],
      ['unknown-field', 'spec.nodes.split.routes[0].wieght'],
      ['invalid-value', 'spec.nodes.split.routes[1].weight'],
      ['invalid-address', 'spec.nodes.a.endpoint.url'],
      ['invalid-duration', 'spec.nodes.a.timeout'],
      ['invalid-value', 'spec.nodes.b.kind'],
      ['invalid-value', 'spec.protocol'],
    ],
  );
});

/** A small deterministic generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

test('garbage never throws, never yields a graph, and never shows a stack trace', () => {
  const header =
    'apiVersion: switchyard.io/v1alpha1\nkind: InferenceGraph\nmetadata: { name: g }\n';
  const garbage = [
    '42',
    'null',
    '~',
    '"just a string"',
    '- a\n- b',
    '{}',
    '[]',
    'spec: 3',
    '!!binary aGVsbG8=',
    '? [complex, key]\n: value',
    '__proto__: { polluted: true }\nconstructor: 1',
    '['.repeat(5000) + ']'.repeat(5000),
    `${header}spec: []`,
    `${header}spec: { nodes: null, entry: null }`,
    `${header}spec:\n  nodes: { a: null, b: 3, c: [], d: { kind: null } }\n  entry: 7`,
    `${header}spec: { entry: a, host: 3, propagateHeaders: "x", timeout: {}, nodes: { a: { kind: model, endpoint: { url: 7 } } } }`,
    `${header}spec: { entry: a, nodes: { a: { kind: splitter, routes: [null, 3, { to: [], weight: {} }] } } }`,
    `${header}spec: { entry: a, nodes: { a: { kind: switch, cases: [{ when: null, to: a }, { when: { header: 1, regex: 2 } }] } } }`,
    `${header}spec: { entry: a, nodes: { a: { kind: sequence, steps: [{}, { node: 1, input: [] }] } } }`,
    `${header}spec: { entry: a, nodes: { a: { kind: ensemble, children: {}, combine: 1 } } }`,
    `${header}metadata: 5\nspec: { entry: a, nodes: { "": { kind: graph, graph: null } } }`,
  ];
  const valid = graphDocument(`  entry: split
  host: income.example.com
  nodes:
    split: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: b, weight: 3 }] }
${MODELS}`);
  const next = random(7);
  for (let i = 0; i < 300; i++) {
    const at = Math.floor(next() * valid.length);
    const junk = ['', ':', '-', '{', ']', '"', '\n', '  ', '&x', '*x', '0', '\t'][
      Math.floor(next() * 12)
    ];
    garbage.push(valid.slice(0, at) + String(junk) + valid.slice(at + 1));
  }
  for (const text of garbage) {
    const result = loadGraphDocuments('x.yaml', text);
    for (const d of result.diagnostics) {
      assert.doesNotMatch(formatDiagnostic(d), /\n\s+at |Error:/, text);
      assert.equal(d.source, 'x.yaml');
    }
    if (result.graphs.length > 0) assert.deepEqual(result.diagnostics, [], text);
  }
  for (const text of garbage.slice(0, 21)) {
    const result = loadGraphDocuments('x.yaml', text);
    assert.deepEqual(result.graphs, [], text);
    assert.ok(result.diagnostics.length > 0, text);
  }
});
