import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadGraphDocuments, loadGraphFile } from '../../src/graph/load.ts';
import { regexProgramSize } from '../../src/spec/regex-program-size.ts';
import { MODELS, SOURCE, graphDocument, read } from './fixtures/documents.ts';

/** The problems of a graph with a switch whose one case is `when` (flow YAML), then models a and b. */
function caseProblems(when: string) {
  return read(
    graphDocument(
      `  entry: s\n  nodes:\n    s: { kind: switch, cases: [{ when: ${when}, to: a }], default: b }\n${MODELS}`,
    ),
  );
}

/** The problems of a graph whose model a has the given settings. */
function modelProblems(settings: string, spec = '') {
  return read(
    graphDocument(
      `  entry: a\n${spec}  nodes:\n    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] }${settings} }\n`,
    ),
  );
}

test('RE2 program sizes come from real RE2, as Envoy 1.40 compiles them (Latin-1)', () => {
  assert.deepEqual(regexProgramSize('[a-z]{300}'), { size: 304 });
  assert.deepEqual(regexProgramSize('[a-z]{96}'), { size: 100 });
  assert.deepEqual(regexProgramSize('[a-z]{97}'), { size: 101 });
  // Envoy reads the pattern's bytes as Latin-1: \pL is 11 instructions there, not UTF-8's 1,200.
  assert.deepEqual(regexProgramSize('\\pL'), { size: 11 });
  assert.deepEqual(regexProgramSize('\\x{100}'), { error: 'invalid escape sequence: \\x{100' });
});

test('a regex over Envoy’s program size limit is refused in header, query and body cases, with size and limit', () => {
  const hint =
    'every character and each repetition of a bounded repeat costs about one: prefer "+" or "*" to a large {n}, a prefix match to a long literal, or split the case in two (Envoy\'s runtime re2.max_program_size.error_level sets the limit)';
  for (const source of ['header: x-tier', 'query: tier', 'body: $.tier']) {
    assert.deepEqual(caseProblems(`{ ${source}, regex: "[a-z]{300}" }`), [
      [
        'limit-exceeded',
        'spec.nodes.s.cases[0].when.regex',
        'this regex compiles to an RE2 program of size 304; Envoy refuses more than 100',
        hint,
      ],
    ]);
    // The largest program Envoy takes passes; one instruction more does not.
    assert.deepEqual(caseProblems(`{ ${source}, regex: "[a-z]{96}" }`), []);
    assert.equal(
      caseProblems(`{ ${source}, regex: "[a-z]{97}" }`)[0]?.[2].includes('size 101'),
      true,
    );
  }
  const gems =
    'gold, silver, bronze, platinum, diamond, ruby, emerald, sapphire, pearl, opal, topaz, garnet, amber, jade, onyx, quartz';
  assert.deepEqual(caseProblems(`{ header: x-tier, in: [${gems}] }`), []);
  const long = `${gems}, beryl, coral`;
  assert.deepEqual(caseProblems(`{ header: x-tier, in: [${long}] }`), [
    [
      'limit-exceeded',
      'spec.nodes.s.cases[0].when.in',
      'Envoy matches this list as one regex, of RE2 program size 103; it refuses more than 100',
      'shorten the list, or split it over several cases that lead to the same node',
    ],
  ]);
  // A body `in` is a list of exact values in Envoy, not a regex; a sequence's stopWhen never reaches Envoy.
  assert.deepEqual(caseProblems(`{ body: $.tier, in: [${long}] }`), []);
  assert.deepEqual(
    read(
      graphDocument(`  entry: q
  nodes:
    q: { kind: sequence, steps: [{ node: a }, { node: b }], stopWhen: { body: $.x, regex: "[a-z]{300}" } }
${MODELS}`),
    ),
    [],
  );
});

test('durations beyond what Envoy converts to milliseconds are refused, on every duration field', () => {
  const tooLong = (value: string) =>
    `"${value}" is longer than Envoy takes: at most "9223372035.999s" (about 292 years)`;
  const hint =
    'Envoy counts a duration in 64-bit milliseconds and refuses a longer one ("Duration out-of-range")';
  assert.deepEqual(
    modelProblems(
      ', timeout: 10000000000s, retries: { attempts: 1, perTryTimeout: 9223372036s }, outlierDetection: { interval: 9999999999999s, baseEjectionTime: 2562048h }',
      '  timeout: 10000000000s\n',
    ),
    [
      ['invalid-duration', 'spec.timeout', tooLong('10000000000s'), hint],
      ['invalid-duration', 'spec.nodes.a.timeout', tooLong('10000000000s'), hint],
      ['invalid-duration', 'spec.nodes.a.retries.perTryTimeout', tooLong('9223372036s'), hint],
      [
        'invalid-duration',
        'spec.nodes.a.outlierDetection.interval',
        tooLong('9999999999999s'),
        hint,
      ],
      [
        'invalid-duration',
        'spec.nodes.a.outlierDetection.baseEjectionTime',
        tooLong('2562048h'),
        hint,
      ],
    ],
  );
  assert.deepEqual(
    modelProblems(
      ', timeout: 9223372035.999s, retries: { attempts: 1, perTryTimeout: 9000000000s }, outlierDetection: { interval: 9223372035999ms, baseEjectionTime: 2562047h }',
      '  timeout: 9223372035.999s\n',
    ),
    [],
  );
});

test('integers Envoy keeps in 32 bits are bounded there, not wrapped to 0', () => {
  const wraps =
    'Envoy keeps this number in 32 bits: a larger one would wrap around (4294967296 becomes 0)';
  assert.deepEqual(
    modelProblems(
      ', circuitBreaker: { maxConnections: 4294967296, maxPendingRequests: 4294967295, maxRequests: 1e20, maxRetries: 4294967296 }, outlierDetection: { consecutive5xx: 4294967296 }',
    ),
    [
      [
        'invalid-value',
        'spec.nodes.a.circuitBreaker.maxConnections',
        'must be ≤ 4294967295, got 4294967296',
        wraps,
      ],
      [
        'invalid-value',
        'spec.nodes.a.circuitBreaker.maxRequests',
        'must be ≤ 4294967295, got 100000000000000000000',
        wraps,
      ],
      [
        'invalid-value',
        'spec.nodes.a.circuitBreaker.maxRetries',
        'must be ≤ 4294967295, got 4294967296',
        wraps,
      ],
      [
        'invalid-value',
        'spec.nodes.a.outlierDetection.consecutive5xx',
        'must be ≤ 4294967295, got 4294967296',
        wraps,
      ],
    ],
  );
  const split = (weights: number[]) =>
    read(
      graphDocument(
        `  entry: s\n  nodes:\n    s: { kind: splitter, routes: [${weights.map((w, i) => `{ to: ${i === 0 ? 'a' : 'b'}, weight: ${String(w)} }`).join(', ')}] }\n${MODELS}`,
      ),
    );
  assert.deepEqual(split([4294967295, 0]), []);
  assert.deepEqual(split([4294967296, 1]), [
    [
      'invalid-value',
      'spec.nodes.s.routes[0].weight',
      'must be ≤ 4294967295, got 4294967296',
      wraps,
    ],
  ]);
  assert.deepEqual(split([4294967295, 1]), [
    [
      'invalid-weights',
      'spec.nodes.s.routes',
      'the weights sum to 4294967296; Envoy takes at most 4294967295 in total',
      'weights are relative: divide them all by the same number',
    ],
  ]);
});

test('a model name that cannot stand in a URL path is refused, with its percent-encoded form', () => {
  assert.deepEqual(modelProblems(", model: 'a b?c#d'"), [
    [
      'invalid-value',
      'spec.nodes.a.model',
      'the model name "a b?c#d" becomes part of the model\'s URL path, where " ", "?", "#" cannot stand as written',
      'write it percent-encoded, as the model server\'s URL has it: "a%20b%3Fc%23d"',
    ],
  ]);
  assert.deepEqual(modelProblems(", model: 'a%20b'"), []);
  assert.deepEqual(
    modelProblems(", model: 'résumé'")[0]?.[3],
    'write it percent-encoded, as the model server\'s URL has it: "r%C3%A9sum%C3%A9"',
  );
  assert.deepEqual(modelProblems(', model: ".."')[0]?.slice(1, 3), [
    'spec.nodes.a.model',
    'the model name ".." would be read as a path step, not a name',
  ]);
  assert.deepEqual(modelProblems(", model: 'fraud-v1.2_x~y:predict@z'"), []);
});

test('header and query values and names that Envoy and the executor would read differently are refused', () => {
  assert.deepEqual(caseProblems('{ header: x-tier, equals: "gold\\u00e9" }'), [
    [
      'invalid-value',
      'spec.nodes.s.cases[0].when.equals',
      '"goldé" holds characters other than visible ASCII and spaces, which Envoy and the executor would read differently in a header',
      'Envoy compares header bytes, the executor decoded text: match on ASCII only',
    ],
  ]);
  assert.deepEqual(caseProblems('{ query: tier, equals: "gold plus" }'), [
    [
      'invalid-value',
      'spec.nodes.s.cases[0].when.equals',
      '"gold plus" would not match the same requests in Envoy and the executor: Envoy compares the query string as sent, the executor after decoding "%xx" and "+"',
      "use only characters a query string carries unencoded: letters, digits and -._~!$'()*,;:@/?[]",
    ],
  ]);
  assert.deepEqual(caseProblems('{ query: "a b", equals: gold }')[0]?.slice(0, 3), [
    'invalid-value',
    'spec.nodes.s.cases[0].when.query',
    '"a b" is not a query parameter name Envoy and the executor read alike',
  ]);
  assert.deepEqual(caseProblems('{ query: tier, in: [1e21] }')[0]?.slice(1, 3), [
    'spec.nodes.s.cases[0].when.in[0]',
    '"1e+21" would not match the same requests in Envoy and the executor: Envoy compares the query string as sent, the executor after decoding "%xx" and "+"',
  ]);
  assert.equal(caseProblems(`{ query: ${'q'.repeat(1025)}, equals: gold }`).length, 1);
  assert.deepEqual(caseProblems(`{ query: ${'q'.repeat(1024)}, equals: gold }`), []);
  // Body values compare as JSON strings in both: any text.
  assert.deepEqual(caseProblems('{ body: $.tier, equals: "gold plus é" }'), []);
});

test('text that is no Unicode is refused: bytes that are not UTF-8, and unpaired surrogates', () => {
  const text = graphDocument(
    `  entry: a\n  nodes:\n    a: { kind: model, model: "m\xff", endpoint: { url: "http://m" } }\n`,
  );
  const bytes = Buffer.from(text, 'latin1');
  assert.deepEqual(
    loadGraphFile(SOURCE, bytes).diagnostics.map((d) => [d.code, d.path, d.message, d.hint]),
    [
      [
        'not-a-graph',
        '',
        'the file is not UTF-8 text (line 8 holds bytes that are no UTF-8 character)',
        'save the file as UTF-8',
      ],
    ],
  );
  assert.equal(loadGraphFile(SOURCE, Buffer.from(text.replace('\xff', ''))).graphs.length, 1);
  assert.deepEqual(
    read(
      graphDocument(
        `  entry: a\n  nodes:\n    a: { kind: model, propagateHeaders: ["x-\\uD800"], endpoint: { url: "http://m" } }\n`,
      ),
    )[0],
    [
      'invalid-value',
      'spec.nodes.a.propagateHeaders[0]',
      'the value holds an unpaired UTF-16 surrogate, which is no character',
      'write the character itself, or both halves of its surrogate pair',
    ],
  );
});

test('nesting deeper than the limit is said as such, with where, in both readers’ place', () => {
  const deep = `${graphDocument(`  entry: a\n  nodes:\n${MODELS}`)}  returnOutputs: ${'['.repeat(1000)}${']'.repeat(1000)}\n`;
  assert.deepEqual(read(deep), [
    [
      'limit-exceeded',
      'spec.returnOutputs',
      'the document nests lists and mappings more than 64 levels deep (line 10, column 80)',
      'a graph needs about ten levels; look for runaway brackets or indentation',
    ],
  ]);
  const block = `a:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}x\n`;
  assert.deepEqual(read(block)[0]?.slice(0, 3), [
    'limit-exceeded',
    `a${'[0]'.repeat(62)}`,
    'the document nests lists and mappings more than 64 levels deep (line 65, column 65)',
  ]);
});

test('YAML merge keys are supported, by the reader that resolves them', () => {
  const text = graphDocument(`  entry: s
  nodes:
    s: { kind: splitter, routes: [{ to: a, weight: 1 }, { to: b, weight: 1 }] }
    a: &model { kind: model, timeout: 2s, endpoint: { addresses: ["127.0.0.1:9001"] } }
    b:
      <<: *model
      endpoint: { addresses: ["127.0.0.1:9002"] }
`);
  const { graphs, diagnostics } = loadGraphDocuments(SOURCE, text);
  assert.deepEqual(diagnostics, []);
  // The graph model holds the merged node, its duration read into milliseconds.
  assert.deepEqual(graphs[0]?.nodes.get('b'), {
    kind: 'model',
    timeoutMs: 2000,
    endpoint: { addresses: ['127.0.0.1:9002'] },
  });
  // An inline merge without anchors is left to the exact reader too, and merged the same.
  const inline = graphDocument(`  entry: a
  nodes:
    a: { <<: { kind: model, timeout: 2s }, endpoint: { addresses: ["127.0.0.1:9001"] } }
`);
  assert.deepEqual(loadGraphDocuments(SOURCE, inline).graphs[0]?.nodes.get('a'), {
    kind: 'model',
    timeoutMs: 2000,
    endpoint: { addresses: ['127.0.0.1:9001'] },
  });
});
