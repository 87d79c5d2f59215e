import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDiagnostic, type Diagnostic } from '../../src/spec/diagnostic.ts';
import { checkGraphSet } from '../../src/spec/graph-set.ts';
import { loadGraphDocuments } from '../../src/spec/load.ts';

const header = `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: fraud
`;

/** A graph document with the given spec body (indented under spec:). */
function doc(spec: string): string {
  return `${header}spec:\n${spec}`;
}

const models = `    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }
    b: { kind: model, endpoint: { addresses: ["127.0.0.1:9002"] } }
`;

function problems(text: string): Diagnostic[] {
  return loadGraphDocuments('graphs/fraud.yaml', text).diagnostics;
}

/** [path, message, hint] of each problem: what a user reads. */
function read(text: string): [string, string, string | undefined][] {
  return problems(text).map((d) => [d.path, d.message, d.hint]);
}

test('a valid graph loads, with defaults applied and nodes in topological order', () => {
  const { graphs, diagnostics } = loadGraphDocuments(
    'graphs/fraud.yaml',
    doc(`  entry: split
  nodes:
    split: { kind: splitter, routes: [{ to: b, weight: 1 }, { to: a, weight: 1 }] }
${models}`),
  );
  assert.deepEqual(diagnostics, []);
  const [graph] = graphs;
  assert.ok(graph);
  assert.equal(graph.host, '*');
  assert.equal(graph.protocol, 'v2');
  assert.equal(graph.timeoutMs, 30_000);
  assert.deepEqual([...graph.nodes.keys()], ['a', 'b', 'split']);
  assert.deepEqual(graph.order, ['split', 'a', 'b']);
});

test('every node kind of the design is accepted', () => {
  const text = doc(`  entry: seq
  nodes:
    seq: { kind: sequence, steps: [{ node: t }, { node: e, input: request }, { node: r, input: t }] }
    t: { kind: transformer, to: out, endpoint: { url: "http://t:8080" } }
    out: { kind: output-transformer, to: m, endpoint: { url: "http://o:8080" } }
    e: { kind: ensemble, children: [m, n], combiner: c }
    c: { kind: combiner, endpoint: { url: "http://c:8080" } }
    r: { kind: router, children: [sw, mi], endpoint: { url: "http://r:8080" } }
    sw: { kind: switch, cases: [{ when: { body: "$.tier", gt: 3 }, to: m }], default: sub }
    mi: { kind: mirror, to: sp, shadow: n, percent: 5 }
    sp: { kind: splitter, stickyHeader: x-user, routes: [{ to: m, weight: 1 }, { to: n, weight: 1 }] }
    sub: { kind: graph, graph: other }
    m: { kind: model, protocol: seldon, endpoint: { addresses: ["[::1]:9000"] } }
    n: { kind: model, protocol: v1, endpoint: { addresses: ["model.ns.svc:80"] }, dependency: soft }
`);
  assert.deepEqual(problems(text), []);
});

test('the issue’s example: a negative weight, at its exact path', () => {
  const text = doc(`  entry: split
  nodes:
    split: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: b, weight: -1 }] }
${models}`);
  assert.deepEqual(read(text), [
    ['spec.nodes.split.routes[1].weight', 'must be ≥ 0, got -1', undefined],
  ]);
  assert.equal(
    formatDiagnostic(problems(text)[0] as Diagnostic),
    'graphs/fraud.yaml: spec.nodes.split.routes[1].weight: must be ≥ 0, got -1',
  );
});

test('unknown fields, with did-you-mean from the schema', () => {
  const text = doc(`  entry: a
  timeot: 2s
  nodes:
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] }, retires: { attempts: 1 } }
`);
  assert.deepEqual(read(text), [
    ['spec.timeot', 'unknown field "timeot"', 'did you mean "timeout"?'],
    ['spec.nodes.a.retires', 'unknown field "retires"', 'did you mean "retries"?'],
  ]);
  assert.ok(problems(text).every((d) => d.code === 'unknown-field'));
});

test('unknown kinds, with did-you-mean', () => {
  assert.deepEqual(read(doc(`  entry: a\n  nodes:\n    a: { kind: modle }\n`)), [
    ['spec.nodes.a.kind', 'unknown node kind "modle"', 'did you mean "model"?'],
  ]);
});

test('wrong types', () => {
  const text = doc(`  entry: a
  nodes:
    a: { kind: model, endpoint: { addresses: "127.0.0.1:9001" }, retries: { attempts: two } }
`);
  assert.deepEqual(read(text), [
    ['spec.nodes.a.retries.attempts', 'must be a whole number, got the string "two"', undefined],
    [
      'spec.nodes.a.endpoint.addresses',
      'must be a list, got the string "127.0.0.1:9001"',
      undefined,
    ],
  ]);
  assert.ok(problems(text).every((d) => d.code === 'wrong-type'));
});

test('missing fields and a missing entry node', () => {
  assert.deepEqual(read(doc(`  entry: splt\n  nodes:\n    split: { kind: splitter }\n${models}`)), [
    ['spec.nodes.split.routes', 'missing required field "routes"', undefined],
    ['spec.entry', 'the entry node "splt" is not among the nodes', 'did you mean "split"?'],
  ]);
});

test('dangling references, with did-you-mean among node names', () => {
  const text = doc(`  entry: split
  nodes:
    split: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: bb, weight: 1 }] }
${models}`);
  assert.deepEqual(read(text), [
    ['spec.nodes.split.routes[1].to', 'there is no node "bb"', 'did you mean "b"?'],
  ]);
});

test('cycles, naming the cycle', () => {
  const text = doc(`  entry: t1
  nodes:
    t1: { kind: transformer, to: t2, endpoint: { url: "http://t:1" } }
    t2: { kind: transformer, to: t3, endpoint: { url: "http://t:1" } }
    t3: { kind: transformer, to: t1, endpoint: { url: "http://t:1" } }
`);
  const [cycle] = problems(text);
  assert.equal(cycle?.code, 'cycle');
  assert.equal(cycle.message, 'the nodes form a cycle: t1 → t2 → t3 → t1');
});

test('duplicate node names (YAML would otherwise keep the last one silently)', () => {
  const text = doc(
    `  entry: a\n  nodes:\n${models}    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9003"] } }\n`,
  );
  const [duplicate] = problems(text);
  assert.equal(duplicate?.code, 'duplicate-name');
  assert.equal(duplicate.path, 'spec.nodes.a');
  assert.equal(duplicate.message, 'duplicate node name "a"');
});

test('weights that are all zero', () => {
  const text = doc(`  entry: split
  nodes:
    split: { kind: splitter, routes: [{ to: a, weight: 0 }, { to: b, weight: 0 }] }
${models}`);
  assert.deepEqual(read(text), [
    [
      'spec.nodes.split.routes',
      'all weights are 0, so no route could ever be taken',
      'give at least one route a weight > 0',
    ],
  ]);
});

test('bad durations', () => {
  const text = doc(`  entry: a
  timeout: 2 seconds
  nodes:
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] }, timeout: 0ms }
`);
  assert.deepEqual(read(text), [
    [
      'spec.timeout',
      'the string "2 seconds" is not a duration',
      'write a number and a unit: "250ms", "2s", "1.5s", "1m"',
    ],
    [
      'spec.nodes.a.timeout',
      '"0ms" is not a positive duration',
      'for example "250ms", "2s", "1.5s"',
    ],
  ]);
});

test('bad ports, hosts and URLs', () => {
  const text = doc(`  entry: a
  host: "bad host!"
  nodes:
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:70000", "no-port", "-bad-.example:80"] } }
    b: { kind: model, endpoint: { url: "ftp://x:1/path" } }
`);
  const found = problems(text);
  assert.deepEqual(
    found.map((d) => [d.code, d.path]),
    [
      ['invalid-address', 'spec.host'],
      ['invalid-address', 'spec.nodes.a.endpoint.addresses[0]'],
      ['invalid-address', 'spec.nodes.a.endpoint.addresses[1]'],
      ['invalid-address', 'spec.nodes.a.endpoint.addresses[2]'],
      ['invalid-address', 'spec.nodes.b.endpoint.url'],
      ['invalid-value', 'spec.nodes.b'],
    ],
  );
  assert.equal(found[1]?.message, '"127.0.0.1:70000" is not host:port with a port from 1 to 65535');
});

test('switch conditions need one source and one operator; numbers only on the body', () => {
  const text = doc(`  entry: s
  nodes:
    s:
      kind: switch
      cases:
        - { when: { header: x-tier, query: tier, equals: gold }, to: a }
        - { when: { header: x-score, gt: 3 }, to: a }
      default: b
${models}`);
  assert.deepEqual(
    problems(text).map((d) => [d.path, d.message]),
    [
      [
        'spec.nodes.s.cases[0].when',
        'needs exactly one of header, query or body; has header and query',
      ],
      ['spec.nodes.s.cases[1].when.gt', 'gt compares numbers, which only the body has'],
    ],
  );
});

test('every problem of a document at once, and none is a stack trace', () => {
  const text = doc(`  entry: nowhere
  timeout: soon
  nodes:
    split: { kind: splitter, routes: [{ to: a, wieght: 1 }] }
    a: { kind: model, endpoint: { url: "http://a:99999" } }
`);
  const found = problems(text);
  assert.deepEqual(
    found.map((d) => d.path),
    [
      'spec.timeout',
      'spec.nodes.split.routes[0].weight',
      'spec.nodes.split.routes[0].wieght',
      'spec.nodes.a.endpoint.url',
      'spec.entry',
    ],
  );
  for (const d of found) assert.doesNotMatch(formatDiagnostic(d), /\n\s+at /);
});

test('YAML syntax errors carry line and column', () => {
  const [syntax] = problems('apiVersion: [\n');
  assert.equal(syntax?.code, 'yaml-syntax');
  assert.match(syntax.message, /^line \d+, column \d+: /);
});

test('garbage never throws', () => {
  for (const text of [
    '',
    '42',
    '- a\n- b',
    'null',
    '{}',
    'spec: 3',
    `${header}spec: []`,
    `${header}spec:\n  nodes: { a: null, b: 3, c: [] }\n  entry: 7`,
  ]) {
    const result = loadGraphDocuments('x.yaml', text);
    assert.equal(result.graphs.length, 0);
    assert.ok(result.diagnostics.length > 0, text);
  }
});

test('not an InferenceGraph', () => {
  assert.deepEqual(read('apiVersion: v1\nkind: Pod\n'), [
    [
      'apiVersion',
      'expected apiVersion "switchyard.io/v1alpha1" and kind "InferenceGraph", got "v1" and "Pod"',
      'Switchyard reads InferenceGraph documents only',
    ],
  ]);
});

test('several documents in one file: each problem says which', () => {
  const good = doc(`  entry: a\n  nodes:\n${models.split('\n')[0] ?? ''}\n`);
  const result = loadGraphDocuments(
    'two.yaml',
    `${good}---\n${good.replace('name: fraud', 'name: fraud2').replace('entry: a', 'entry: x')}`,
  );
  assert.equal(result.graphs.length, 1);
  assert.deepEqual(
    result.diagnostics.map((d) => d.path),
    ['document 2: spec.entry'],
  );
});

test('two graphs claiming the same host and path, and duplicate graph names', () => {
  const one = loadGraphDocuments(
    'a.yaml',
    doc(`  entry: a\n  nodes:\n${models.split('\n')[0] ?? ''}\n`),
  ).graphs;
  const seldon = (name: string) =>
    loadGraphDocuments(
      `${name}.yaml`,
      doc(
        `  entry: a\n  protocol: seldon\n  host: income.example.com\n  nodes:\n${models.split('\n')[0] ?? ''}\n`,
      ).replace('name: fraud', `name: ${name}`),
    ).graphs;
  const result = checkGraphSet([
    ...one,
    ...one.map((g) => ({ ...g, source: 'b.yaml' })),
    ...seldon('s1'),
    ...seldon('s2'),
  ]);
  assert.deepEqual(
    result.diagnostics.map((d) => [d.source, d.code, d.message]),
    [
      ['b.yaml', 'duplicate-name', 'graph "default/fraud" is already defined in a.yaml'],
      [
        's2.yaml',
        'conflicting-route',
        'host "income.example.com" path /api/v1.0/predictions is already served by graph "default/s1" (s1.yaml)',
      ],
    ],
  );
  assert.deepEqual(
    result.accepted.map((g) => g.source),
    ['a.yaml', 's1.yaml'],
  );
});
