import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDiagnostic, type Diagnostic } from '../../src/spec/diagnostic.ts';
import { MODELS, graphDocument, problems, read } from './fixtures/documents.ts';

/** A graph whose entry is `entry` and whose nodes are the given lines plus models a and b. */
function withModels(entry: string, nodes: string, extraSpec = ''): string {
  return graphDocument(`  entry: ${entry}\n${extraSpec}  nodes:\n${nodes}${MODELS}`);
}

test('the issue’s example: a negative splitter weight, at its exact path', () => {
  const text = withModels(
    'split',
    '    split: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: b, weight: -1 }] }\n',
  );
  assert.deepEqual(read(text), [
    ['invalid-value', 'spec.nodes.split.routes[1].weight', 'must be ≥ 0, got -1', undefined],
  ]);
  assert.equal(
    formatDiagnostic(problems(text)[0] as Diagnostic),
    'graphs/fraud.yaml: spec.nodes.split.routes[1].weight: must be ≥ 0, got -1',
  );
});

test('unknown fields, with did-you-mean from the schema’s own names', () => {
  const text = withModels(
    'split',
    `    split: { kind: splitter, routes: [{ to: a, wieght: 1 }, { to: b, weight: 1 }] }
    c: { kind: model, endpoint: { url: "http://c" }, retires: { attempts: 1 }, zzzzzzzz: 1 }
`,
    '  timeot: 2s\n',
  );
  assert.deepEqual(read(text), [
    ['unknown-field', 'spec.timeot', 'unknown field "timeot"', 'did you mean "timeout"?'],
    [
      'unknown-field',
      'spec.nodes.split.routes[0].wieght',
      'unknown field "wieght"',
      'did you mean "weight"?',
    ],
    ['unknown-field', 'spec.nodes.c.retires', 'unknown field "retires"', 'did you mean "retries"?'],
    [
      'unknown-field',
      'spec.nodes.c.zzzzzzzz',
      'unknown field "zzzzzzzz"',
      'known fields here: kind, timeout, retries, dependency, propagateHeaders, endpoint, protocol, model, binaryTensors, circuitBreaker, outlierDetection',
    ],
  ]);
});

test('missing fields, with what the field is for', () => {
  assert.deepEqual(read(graphDocument('  entry: a\n  nodes:\n    a: { kind: model }\n')), [
    [
      'missing-field',
      'spec.nodes.a.endpoint',
      'missing required field "endpoint"',
      'Where the node is served: exactly one of addresses, url or service.',
    ],
  ]);
  assert.deepEqual(
    read('apiVersion: switchyard.io/v1alpha1\nkind: InferenceGraph\nmetadata: { name: x }\n'),
    [['missing-field', 'spec', 'missing required field "spec"', undefined]],
  );
});

test('wrong types say what was expected, bounds included, and what was found', () => {
  const text = withModels(
    's',
    `    s: { kind: switch, cases: [{ when: { header: x-tier, equals: { gold: 1 } }, to: a }], default: b }
    c: { kind: model, endpoint: { addresses: "127.0.0.1:9001" }, retries: { attempts: two } }
`,
  );
  assert.deepEqual(read(text), [
    [
      'wrong-type',
      'spec.nodes.s.cases[0].when.equals',
      'must be a string, a number or true or false, got a mapping',
      undefined,
    ],
    [
      'wrong-type',
      'spec.nodes.c.endpoint.addresses',
      'must be a list, got the string "127.0.0.1:9001"',
      undefined,
    ],
    [
      'wrong-type',
      'spec.nodes.c.retries.attempts',
      'must be an integer from 0 to 10, got the string "two"',
      undefined,
    ],
  ]);
});

test('values outside a set or a range', () => {
  const text = withModels(
    'm',
    `    m: { kind: mirror, to: a, shadow: b, percent: 0 }
    c: { kind: model, endpoint: { url: "http://c" }, retries: { attempts: 11 } }
`,
    '  protocol: seldom\n',
  );
  assert.deepEqual(read(text), [
    [
      'invalid-value',
      'spec.protocol',
      'must be one of v1, v2, seldon; got the string "seldom"',
      'did you mean "seldon"?',
    ],
    ['invalid-value', 'spec.nodes.m.percent', 'must be > 0, got 0', undefined],
    ['invalid-value', 'spec.nodes.c.retries.attempts', 'must be ≤ 10, got 11', undefined],
  ]);
});

test('node kinds are checked first: unknown, missing or not a string', () => {
  const kinds =
    'one of: model, transformer, output-transformer, router, combiner, splitter, switch, mirror, sequence, ensemble, graph';
  const text = graphDocument(`  entry: a
  nodes:
    a: { kind: modle, endpoint: { url: "http://a" } }
    b: { endpoint: { url: "http://b" } }
    c: { kind: 3 }
    d: { kind: splitter, endpoint: { url: "http://d" }, routes: [{ to: a, weight: 1 }] }
`);
  assert.deepEqual(read(text), [
    ['invalid-value', 'spec.nodes.a.kind', 'unknown node kind "modle"', 'did you mean "model"?'],
    ['missing-field', 'spec.nodes.b.kind', 'missing required field "kind"', kinds],
    ['wrong-type', 'spec.nodes.c.kind', 'must be the name of a node kind, got number 3', kinds],
    // Errors speak of the splitter's own fields, not of a union of every kind.
    [
      'unknown-field',
      'spec.nodes.d.endpoint',
      'unknown field "endpoint"',
      'known fields here: kind, timeout, retries, dependency, propagateHeaders, routes, stickyHeader',
    ],
  ]);
});

test('nodes that are not mappings, and names that are not valid', () => {
  const text = graphDocument(`  entry: a
  nodes:
    a: null
    Good_Name.v2: { kind: model, endpoint: { url: "http://g" } }
    bad/name: { kind: model, endpoint: { url: "http://b" } }
`).replace('name: fraud', 'name: Fraud');
  assert.deepEqual(read(text), [
    [
      'invalid-value',
      'metadata.name',
      'the string "Fraud" is not a valid name',
      'Lowercase letters, digits and "-", starting and ending with a letter or digit.',
    ],
    [
      'wrong-type',
      'spec.nodes.a',
      'must be a mapping with a kind, got null',
      'for example { kind: model, endpoint: { url: "http://iris:8080" } }',
    ],
    [
      'invalid-value',
      'spec.nodes["bad/name"]',
      'node name "bad/name" is not valid',
      'node names are letters, digits, "-", "_" and ".", at most 63, starting and ending with a letter or digit',
    ],
  ]);
});

test('durations must parse and be > 0', () => {
  const text = graphDocument(`  entry: a
  timeout: 2 seconds
  nodes:
    a: { kind: model, endpoint: { url: "http://a" }, timeout: 0ms, outlierDetection: { interval: 0.0001s } }
`);
  assert.deepEqual(read(text), [
    [
      'invalid-duration',
      'spec.timeout',
      'the string "2 seconds" is not a duration',
      'write a number and a unit: "250ms", "2s", "1.5s", "1m"',
    ],
    [
      'invalid-duration',
      'spec.nodes.a.timeout',
      '"0ms" is not a positive duration',
      'for example "250ms", "2s", "1.5s"',
    ],
    [
      'invalid-duration',
      'spec.nodes.a.outlierDetection.interval',
      '"0.0001s" is not a positive duration',
      'for example "250ms", "2s", "1.5s"',
    ],
  ]);
});

test('a retry may not outlast its node’s timeout', () => {
  const node = (perTry: string) =>
    graphDocument(`  entry: a
  nodes:
    a: { kind: model, endpoint: { url: "http://a" }, timeout: 1s, retries: { attempts: 2, perTryTimeout: ${perTry} } }
`);
  assert.deepEqual(read(node('1500ms')), [
    [
      'invalid-value',
      'spec.nodes.a.retries.perTryTimeout',
      "perTryTimeout (1500ms) must not exceed the node's timeout (1s)",
      'a single try cannot outlast the whole step: lower perTryTimeout or raise timeout',
    ],
  ]);
  assert.deepEqual(read(node('1s')), []);
});

test('an endpoint has exactly one of addresses, url and service', () => {
  const text = graphDocument(`  entry: e
  nodes:
    e: { kind: ensemble, children: [a, b, c], combine: first-success }
    a: { kind: model, endpoint: { url: "http://a", addresses: ["a:1"] } }
    b: { kind: model, endpoint: {} }
    c: { kind: model, endpoint: { url: "http://c", service: { name: c, port: 80 } } }
`);
  const hint =
    'give one of addresses: ["host:port", ...], url: http://host:port or service: { name, port }';
  assert.deepEqual(read(text), [
    ['invalid-value', 'spec.nodes.a.endpoint', 'has both addresses and url', hint],
    ['missing-field', 'spec.nodes.b.endpoint', 'needs addresses, url or service', hint],
    ['invalid-value', 'spec.nodes.c.endpoint', 'has both url and service', hint],
  ]);
});

test('a Service endpoint names a Service, maybe its namespace, and a port by number or name', () => {
  const text = graphDocument(`  entry: e
  nodes:
    e: { kind: ensemble, children: [a, b, c, d, f], combine: first-success }
    a: { kind: model, endpoint: { service: { name: iris, port: 8080 } } }
    b: { kind: model, endpoint: { service: { name: iris, namespace: models, port: http } } }
    c: { kind: model, endpoint: { service: { name: 9iris, port: 0 } } }
    d: { kind: model, endpoint: { service: { name: iris, port: Http_1 } } }
    f: { kind: model, endpoint: { service: { name: iris, prot: 80 } } }
`);
  assert.deepEqual(
    read(text).map(([code, path]) => [code, path]),
    [
      ['invalid-value', 'spec.nodes.c.endpoint.service.name'],
      ['invalid-value', 'spec.nodes.c.endpoint.service.port'],
      ['invalid-value', 'spec.nodes.d.endpoint.service.port'],
      ['unknown-field', 'spec.nodes.f.endpoint.service.prot'],
    ],
  );
});

test('addresses are host:port with a valid host and a port from 1 to 65535', () => {
  const addresses = [
    '10.0.0.7:8080',
    '[::1]:9000',
    '[::ffff:10.0.0.1]:80',
    '[2001:db8:0:0:0:0:0:1]:1',
    'model.ns.svc:65535',
    '127.0.0.1:70000',
    'no-port',
    '-bad-.example:80',
    '[1::2::3]:80',
    '[12345::]:80',
    'host:0',
    '::1:80',
  ];
  const text = graphDocument(`  entry: a
  nodes:
    a: { kind: model, endpoint: { addresses: ${JSON.stringify(addresses)} } }
`);
  const found = problems(text);
  assert.deepEqual(
    found.map((d) => [d.code, d.path]),
    [5, 6, 7, 8, 9, 10, 11].map((i) => [
      'invalid-address',
      `spec.nodes.a.endpoint.addresses[${i}]`,
    ]),
  );
  assert.equal(found[0]?.message, '"127.0.0.1:70000" is not host:port with a port from 1 to 65535');
  assert.equal(found[0].hint, 'for example "10.0.0.7:8080", "[::1]:9000" or "model.ns.svc:8080"');
});

test('a url is http(s), a host and an optional port, and no path', () => {
  const urls = [
    'http://iris',
    'https://iris.models.svc',
    'http://[::1]:8080/',
    'ftp://x:1',
    'http://a:99999',
    'http://a:80/v2/models/a/infer',
    'http://',
  ];
  const text = graphDocument(`  entry: e
  nodes:
    e: { kind: ensemble, combine: concat, children: [${urls.map((_, i) => `m${i}`).join(', ')}] }
${urls.map((url, i) => `    m${i}: { kind: model, endpoint: { url: "${url}" } }\n`).join('')}`);
  const found = problems(text);
  assert.deepEqual(
    found.map((d) => [d.code, d.path]),
    [3, 4, 5, 6].map((i) => ['invalid-address', `spec.nodes.m${i}.endpoint.url`]),
  );
  assert.equal(
    found[0]?.message,
    '"ftp://x:1" is not an http(s) URL of a host and optional port, without a path',
  );
  assert.equal(found[0].hint, 'for example http://iris.models.svc:8080');
});

test('the graph’s host is "*" or a DNS name, optionally "*."-prefixed', () => {
  const host = (value: string) =>
    read(
      graphDocument(`  entry: a\n  host: "${value}"\n  nodes:\n${MODELS.split('\n')[0] ?? ''}\n`),
    );
  for (const good of ['*', 'example.com', '*.example.com', 'Income.Example.com', 'localhost']) {
    assert.deepEqual(host(good), [], good);
  }
  for (const bad of ['bad host!', 'example.com:8080', '*example.com', 'a.*.com', '-a.com']) {
    assert.deepEqual(
      host(bad),
      [
        [
          'invalid-address',
          'spec.host',
          `${JSON.stringify(bad)} is not a host name`,
          'use "*", a DNS name, or "*.example.com"',
        ],
      ],
      bad,
    );
  }
});

test('header names are HTTP tokens', () => {
  const text = withModels(
    'split',
    '    split: { kind: splitter, stickyHeader: "x user", routes: [{ to: a, weight: 1 }, { to: b, weight: 1 }] }\n',
    '  propagateHeaders: [x-request-id, "bad header", X-Tenant]\n',
  );
  const hint = 'header names are letters, digits and "-" (an HTTP token), e.g. x-user-id';
  assert.deepEqual(read(text), [
    ['invalid-value', 'spec.propagateHeaders[1]', '"bad header" is not a valid header name', hint],
    ['invalid-value', 'spec.nodes.split.stickyHeader', '"x user" is not a valid header name', hint],
  ]);
});

test('a splitter needs at least one weight > 0', () => {
  const text = withModels(
    'split',
    '    split: { kind: splitter, routes: [{ to: a, weight: 0 }, { to: b, weight: 0 }] }\n',
  );
  assert.deepEqual(read(text), [
    [
      'invalid-weights',
      'spec.nodes.split.routes',
      'all weights are 0, so no route could ever be taken',
      'give at least one route a weight > 0',
    ],
  ]);
});

test('switch conditions: one source, one operator, numbers only on the body, regexes RE2 can run', () => {
  const text = withModels(
    's',
    `    s:
      kind: switch
      cases:
        - { when: { header: x-tier, query: tier, equals: gold }, to: a }
        - { when: { query: tier }, to: a }
        - { when: { query: tier, equals: gold, prefix: g }, to: a }
        - { when: { header: x-score, gt: 3 }, to: a }
        - { when: { body: "$.score", lte: 3 }, to: a }
        - { when: { header: "x tier", present: true }, to: a }
        - { when: { header: x-tier, regex: "(" }, to: a }
        - { when: { header: x-tier, regex: "(?!gold)" }, to: a }
        - { when: { header: x-tier, regex: "(a)\\\\1" }, to: a }
        - { when: { header: x-tier, regex: "(?i)^[(?=]gold\\\\.(?P<x>v)?$" }, to: a }
      default: b
`,
  );
  const example = 'for example { header: x-tier, equals: gold }';
  const re2 = 'Envoy uses RE2 syntax: no lookaround, no backreferences';
  assert.deepEqual(read(text), [
    [
      'invalid-value',
      'spec.nodes.s.cases[0].when',
      'needs exactly one of header, query or body; has header and query',
      example,
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[1].when',
      'needs exactly one of equals, in, prefix, regex, present, gt, gte, lt, lte; has none',
      example,
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[2].when',
      'needs exactly one of equals, in, prefix, regex, present, gt, gte, lt, lte; has equals and prefix',
      example,
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[3].when.gt',
      'gt compares numbers, which only the body has',
      'use equals, in, prefix, regex or present on headers and query parameters',
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[5].when.header',
      '"x tier" is not a valid header name',
      'header names are letters, digits and "-" (an HTTP token), e.g. x-user-id',
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[6].when.regex',
      'not a valid RE2 regular expression: missing ): (',
      re2,
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[7].when.regex',
      'not a valid RE2 regular expression: invalid perl operator: (?!',
      re2,
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[8].when.regex',
      'not a valid RE2 regular expression: invalid escape sequence: \\1',
      re2,
    ],
  ]);
});

test('an ensemble has exactly one of combine and combiner', () => {
  const text = graphDocument(`  entry: s
  nodes:
    s: { kind: sequence, steps: [{ node: e }, { node: f }] }
    e: { kind: ensemble, children: [a] }
    f: { kind: ensemble, children: [a], combine: mean, combiner: c }
    c: { kind: combiner, endpoint: { url: "http://c" } }
    a: { kind: model, endpoint: { url: "http://a" } }
`);
  assert.deepEqual(read(text), [
    [
      'missing-field',
      'spec.nodes.e',
      'an ensemble needs combine (a built-in) or combiner (a combiner node)',
      'for example combine: mean',
    ],
    [
      'invalid-value',
      'spec.nodes.f.combiner',
      'give combine (a built-in) or combiner (a combiner node), not both',
      'remove one of them',
    ],
  ]);
});

test('a sequence step’s input is "request", "previous" or an earlier step', () => {
  const text = withModels(
    's',
    `    s:
      kind: sequence
      steps:
        - { node: a, input: b }
        - { node: b, input: a }
        - { node: a, input: request }
        - { node: b, input: previous }
        - { node: a, input: c }
`,
  );
  assert.deepEqual(read(text), [
    [
      'dangling-reference',
      'spec.nodes.s.steps[0].input',
      '"b" is not an earlier step of this sequence',
      'use "request" or "previous"',
    ],
    [
      'dangling-reference',
      'spec.nodes.s.steps[4].input',
      '"c" is not an earlier step of this sequence',
      'use "request", "previous" or one of a, b, a, b',
    ],
  ]);
});

test('not an InferenceGraph: the expected apiVersion and kind are named', () => {
  assert.deepEqual(read('apiVersion: v1\nkind: Pod\n'), [
    [
      'not-a-graph',
      'apiVersion',
      'expected apiVersion "switchyard.io/v1alpha1" and kind "InferenceGraph", got "v1" and "Pod"',
      'Switchyard reads InferenceGraph documents only',
    ],
  ]);
  assert.deepEqual(read('apiVersion: switchyard.io/v1alpha1\nkind: [x]\n'), [
    [
      'not-a-graph',
      'kind',
      'expected apiVersion "switchyard.io/v1alpha1" and kind "InferenceGraph", got "switchyard.io/v1alpha1" and a list',
      'Switchyard reads InferenceGraph documents only',
    ],
  ]);
  assert.deepEqual(read('- a\n- b\n'), [
    [
      'not-a-graph',
      '',
      'the document is a list, not an InferenceGraph',
      'start it with "apiVersion: switchyard.io/v1alpha1" and "kind: InferenceGraph"',
    ],
  ]);
});

test('CEL conditions: one that does not parse or type-check, or sits beside another test, is a diagnostic at its path; when on the first step is refused', () => {
  const text = graphDocument(`  entry: s
  nodes:
    s:
      kind: switch
      cases:
        - { when: { cel: 'body.x ==' }, to: m }
        - { when: { cel: 'headers["a"] + 1 == 2' }, to: m }
        - { when: { cel: 'body.ok', header: x-a, equals: b }, to: m }
        - { when: { cel: 'body.ok && size(body.list) > 2' }, to: q }
    q:
      kind: sequence
      steps:
        - { node: m, when: { cel: 'true' } }
        - { node: m, when: { cel: 'body.predictions[0] == "dog"' } }
    m: { kind: model, endpoint: { url: "http://m" } }
`);
  const problems = read(text).map(([code, path, message]) => [code, path, message]);
  assert.deepEqual(problems, [
    [
      'invalid-value',
      'spec.nodes.s.cases[0].when.cel',
      'not a valid CEL condition: Unexpected token: EOF',
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[1].when.cel',
      'not a valid CEL condition: no such overload: string + int',
    ],
    [
      'invalid-value',
      'spec.nodes.s.cases[2].when',
      'cel stands alone; this condition also has header and equals',
    ],
    [
      'invalid-value',
      'spec.nodes.q.steps[0].when',
      "the first step has no previous step's answer to test",
    ],
  ]);
});
