import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadGraphObject } from '../../src/graph/load.ts';
import type { GraphModel } from '../../src/graph/model.ts';
import { planGraph } from '../../src/plan/plan.ts';
import type { RouteRule } from '../../src/plan/types.ts';
import { bodyCondition, canonicalPath, nextUp } from '../../src/plan/body-conditions.ts';
import type { SwitchCondition } from '../../src/spec/schema.ts';
import { parseJsonPath } from '../../src/spec/json-path.ts';

/**
 * Graph `g` (a 2 s deadline) of these nodes, entered at `entry`, read by the
 * spec layer as a user's document is: a fixture the validator would refuse
 * fails here, not in the planner.
 */
function graphOf(entry: string, nodes: Record<string, object>, protocol?: string): GraphModel {
  const document = {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'InferenceGraph',
    metadata: { name: 'g' },
    spec: { entry, timeout: '2s', ...(protocol !== undefined && { protocol }), nodes },
  };
  const { graph, diagnostics } = loadGraphObject('g.yaml', document);
  assert.deepEqual(diagnostics, []);
  return graph ?? assert.fail();
}

const endpoint = (port: number) => ({ addresses: [`127.0.0.1:${String(port)}`] });
const model = (port: number, extra: object = {}) => ({
  kind: 'model',
  endpoint: endpoint(port),
  ...extra,
});
/** A splitter over its children, in the order given, with their weights. */
const split = (weights: Record<string, number>, extra: object = {}) => ({
  kind: 'splitter',
  routes: Object.entries(weights).map(([to, weight]) => ({ to, weight })),
  ...extra,
});
/** A switch of [condition, node] cases, and a default if given. */
const switchOf = (cases: [SwitchCondition, string][], fallback?: string) => ({
  kind: 'switch',
  cases: cases.map(([when, to]) => ({ when, to })),
  ...(fallback !== undefined && { default: fallback }),
});
const mirror = (to: string, shadow: string, percent?: number) => ({
  kind: 'mirror',
  to,
  shadow,
  ...(percent !== undefined && { percent }),
});
const transformer = (to: string) => ({ kind: 'transformer', to, endpoint: endpoint(3) });
const ensemble = (...children: string[]) => ({ kind: 'ensemble', children, combine: 'mean' });

function rulesOf(graph: GraphModel): readonly RouteRule[] {
  const result = planGraph(graph);
  assert.deepEqual(result.diagnostics, []);
  assert.ok(result.planned);
  return result.planned.graph.rules;
}

function summary(rule: RouteRule): string {
  const action = rule.action;
  const target = action.kind === 'forward' ? action.upstream : action.kind;
  const conditions = [
    ...rule.headers.map((h) => `h:${h.name}`),
    ...rule.queries.map((q) => `q:${q.name}`),
    ...rule.body.map((b) => `b:${b.field.path}`),
    ...(rule.bodyUnreadable ? ['unreadable'] : []),
    ...(rule.readsBodyUpTo === undefined ? [] : ['reads']),
    ...(rule.drawBelow === undefined ? [] : [`<${String(rule.drawBelow)}`]),
  ];
  return `${conditions.join(',')}→${target}`;
}

const kinds = (rules: readonly RouteRule[]) => rules.map((r) => r.action.kind);

test('a split becomes cumulative draw bounds; the last child takes the rest', () => {
  const rules = rulesOf(
    graphOf('s', { s: split({ a: 1, b: 2, c: 1 }), a: model(1), b: model(2), c: model(3) }),
  );
  assert.deepEqual(rules.map(summary), [
    '<250000→default/g/a',
    '<750000→default/g/b',
    '→default/g/c',
  ]);
});

test('zero-weight children get no route', () => {
  const rules = rulesOf(graphOf('s', { s: split({ a: 0, b: 5 }), a: model(1), b: model(2) }));
  assert.deepEqual(rules.map(summary), ['→default/g/b']);
});

test('a split nested in a split is scaled into its parent’s slice of the draw', () => {
  const rules = rulesOf(
    graphOf('outer', {
      outer: split({ inner: 1, c: 1 }),
      inner: split({ a: 1, b: 1 }),
      a: model(1),
      b: model(2),
      c: model(3),
    }),
  );
  assert.deepEqual(rules.map(summary), [
    '<250000→default/g/a',
    '<500000→default/g/b',
    '→default/g/c',
  ]);
});

test('a switch inside a split keeps its conditions and its slice; without default it rejects in that slice', () => {
  const rules = rulesOf(
    graphOf('s', {
      s: split({ w: 1, c: 1 }),
      w: switchOf([[{ header: 'X-Tier', equals: 'gold' }, 'a']]),
      a: model(1),
      c: model(3),
    }),
  );
  assert.deepEqual(rules.map(summary), [
    'h:x-tier,<500000→default/g/a',
    '<500000→reject',
    '→default/g/c',
  ]);
});

test('switch conditions: in becomes an escaped alternation, numbers become strings', () => {
  const rules = rulesOf(
    graphOf('w', {
      w: switchOf(
        [
          [{ header: 'x-region', in: ['eu.west', 'us'] }, 'a'],
          [{ query: 'v', equals: 2 }, 'a'],
        ],
        'a',
      ),
      a: model(1),
    }),
  );
  assert.deepEqual(rules[0]?.headers, [
    { name: 'x-region', match: { kind: 'regex', value: '(?:eu\\.west|us)' } },
  ]);
  assert.deepEqual(rules[1]?.queries, [{ name: 'v', match: { kind: 'exact', value: '2' } }]);
});

test('timeouts and retries: the nearest declaration wins, never above the graph deadline', () => {
  const rules = rulesOf(
    graphOf('s', {
      s: split({ a: 1, b: 1 }, { timeout: '5s', retries: { attempts: 1 } }),
      a: model(1, {
        timeout: '300ms',
        retries: { attempts: 3, perTryTimeout: '100ms', on: ['reset'] },
      }),
      b: model(2),
    }),
  );
  const [a, b] = rules.map((r) => r.action);
  assert.ok(a?.kind === 'forward' && b?.kind === 'forward');
  assert.equal(a.timeoutMs, 300);
  assert.deepEqual(a.retries, { attempts: 3, perTryTimeoutMs: 100, on: ['reset'] });
  assert.equal(b.timeoutMs, 2000, 'the splitter asked for 5s; the graph allows 2s');
  assert.deepEqual(b.retries, { attempts: 1, on: ['5xx', 'reset', 'connect-failure'] });
});

test('a mirror adds its shadow to every forward of its primary', () => {
  const rules = rulesOf(
    graphOf('m', {
      m: mirror('live', 'shadow', 12.5),
      live: model(1, { model: 'x' }),
      shadow: model(2, { model: 'x' }),
    }),
  );
  const action = rules[0]?.action;
  assert.ok(action?.kind === 'forward');
  assert.deepEqual(action.mirrors, [{ upstream: 'default/g/shadow', perTenThousand: 1250 }]);
});

test('a shadow serving another path than its primary is reported with a fix', () => {
  const result = planGraph(
    graphOf('m', { m: mirror('live', 'shadow'), live: model(1), shadow: model(2) }),
  );
  assert.equal(result.planned, undefined);
  assert.deepEqual(
    result.diagnostics.map((d) => [d.path, d.message, d.hint]),
    [
      [
        'spec.nodes.m.shadow',
        'the shadow "shadow" serves /v2/models/shadow/infer, but Envoy mirrors the primary\'s request to /v2/models/live/infer unchanged',
        'set model on "shadow" so that it serves /v2/models/live/infer',
      ],
    ],
  );
});

test('a sticky split needs models on one path and one policy', () => {
  const result = planGraph(
    graphOf('s', {
      s: split({ a: 1, b: 1 }, { stickyHeader: 'x-user' }),
      a: model(1, { timeout: '1s' }),
      b: model(2),
    }),
  );
  assert.deepEqual(
    result.diagnostics.map((d) => d.path),
    ['spec.nodes.a', 'spec.nodes.s.routes'],
  );
});

test('kinds that need the executor compile to an execute rule for the executor', () => {
  const rules = rulesOf(graphOf('e', { e: ensemble('a'), a: model(1) }));
  assert.deepEqual(rules[0]?.action, { kind: 'execute', entry: 'e' });
});

test('the executor is an upstream for plans it answers, ext_proc for plans that may hand off', () => {
  const transports = (graph: GraphModel) =>
    planGraph(graph).planned?.graph.executors.map((e) => `${e.entry}:${e.transport}`);
  // The ensemble's answer is the executor's own: Envoy only has to bring it the request.
  assert.deepEqual(transports(graphOf('e', { e: ensemble('a'), a: model(1) })), ['e:upstream']);
  const post = { kind: 'output-transformer', to: 'a', endpoint: endpoint(3) };
  assert.deepEqual(transports(graphOf('post', { post, a: model(1) })), ['post:upstream']);
  // The model after a transformer answers for the graph: Envoy forwards to it and streams.
  assert.deepEqual(transports(graphOf('t', { t: transformer('a'), a: model(1) })), ['t:ext_proc']);
});

test('a split branch that needs the executor is the only branch that meets it', () => {
  const rules = rulesOf(
    graphOf('s', { s: split({ a: 1, t: 1 }), t: transformer('a'), a: model(1) }),
  );
  assert.deepEqual(kinds(rules), ['forward', 'execute']);
});

test('a model of another protocol than the graph needs an adapter, hence the executor', () => {
  const rules = rulesOf(graphOf('a', { a: model(1, { protocol: 'v1' }) }));
  assert.deepEqual(rules[0]?.action, { kind: 'execute', entry: 'a' });
});

test('a body switch is native: header cases first stream, the body is read from the first body case on', () => {
  const rules = rulesOf(
    graphOf('s', {
      s: split({ w: 1, c: 1 }),
      w: switchOf(
        [
          [{ header: 'x-tier', equals: 'gold' }, 'a'],
          [{ body: "$['parameters'].tier", in: ['gold', 3] }, 'b'],
          [{ query: 'v', equals: 'b' }, 'b'],
        ],
        'c',
      ),
      a: model(1),
      b: model(2),
      c: model(3),
    }),
  );
  assert.deepEqual(rules.map(summary), [
    'h:inference-header-content-length→execute',
    'h:x-tier,<500000→default/g/a',
    'h:content-length,reads,<500000→reject',
    'h::method,reads,<500000→reject',
    'unreadable,reads,<500000→reject',
    'b:$.parameters.tier,reads,<500000→default/g/b',
    'q:v,reads,<500000→default/g/b',
    'reads,<500000→default/g/c',
    '→default/g/c',
  ]);
  assert.deepEqual(rules[5]?.body, [
    {
      field: { path: '$.parameters.tier', keys: ['parameters', 'tier'] },
      match: {
        kind: 'any-of',
        of: [
          { kind: 'string', match: { kind: 'exact', value: 'gold' } },
          { kind: 'number', equals: 3 },
        ],
      },
    },
  ]);
  assert.equal(rules[5].readsBodyUpTo, 10485760, "the graph's maxRequestBytes");
});

test('a body switch Envoy cannot run goes to the executor whole', () => {
  const executes = (cases: [SwitchCondition, string][], extra: Record<string, object> = {}) =>
    kinds(rulesOf(graphOf('w', { w: switchOf(cases, 'a'), a: model(1), ...extra }))).join();
  assert.equal(executes([[{ body: '$.inputs[0].data[0]', gt: 1 }, 'a']]), 'execute');
  assert.equal(executes([[{ body: '$.tier', present: true }, 'a']]), 'execute');
  assert.equal(executes([[{ body: '$', equals: 1 }, 'a']]), 'execute');
  assert.equal(executes([[{ body: "$['']", equals: 1 }, 'a']]), 'execute');
  const withTransformer = { t: transformer('a') };
  assert.equal(executes([[{ body: '$.tier', equals: 'x' }, 't']], withTransformer), 'execute');
  assert.equal(
    executes(
      [
        [{ header: 'x', equals: 'y' }, 't'],
        [{ body: '$.tier', equals: 'x' }, 'a'],
      ],
      withTransformer,
    ),
    'execute,execute,reject,reject,reject,forward,forward',
    'binary requests, then the executor may take a header case before the body cases',
  );
});

test('a V2 request with binary tensors is the executor’s only where Envoy cannot serve it', () => {
  const binaryRule = (document: {
    entry: string;
    nodes: Record<string, object>;
    protocol?: string;
  }) => {
    const rules = rulesOf(graphOf(document.entry, document.nodes, document.protocol));
    return rules[0]?.headers[0]?.name === 'inference-header-content-length'
      ? summary(rules[0])
      : undefined;
  };
  const bodySwitch = {
    w: switchOf([[{ body: '$.parameters.tier', equals: 'x' }, 'a']], 'b'),
    a: model(1),
    b: model(2),
  };
  assert.equal(
    binaryRule({ entry: 'w', nodes: bodySwitch }),
    'h:inference-header-content-length→execute',
    'Envoy reads a body as JSON only',
  );
  assert.equal(binaryRule({ entry: 'w', nodes: bodySwitch, protocol: 'v1' }), undefined, 'V1');
  assert.equal(
    binaryRule({ entry: 's', nodes: { s: split({ a: 1, b: 1 }), a: model(1), b: model(2) } }),
    undefined,
    'models take binary tensors: Envoy forwards them',
  );
  assert.equal(
    binaryRule({
      entry: 's',
      nodes: { s: split({ a: 1, b: 1 }), a: model(1), b: model(2, { binaryTensors: false }) },
    }),
    'h:inference-header-content-length→execute',
    'a model that takes none gets them as JSON from the executor',
  );
  assert.equal(
    binaryRule({ entry: 't', nodes: { t: transformer('a'), a: model(1) } }),
    undefined,
    'the executor runs the whole graph anyway',
  );
  const executors = (entry: string, nodes: Record<string, object>) =>
    planGraph(graphOf(entry, nodes)).planned?.graph.executors.map(
      (e) => `${e.entry}:${e.transport}${e.binaryTensorsOnly === true ? ':binary only' : ''}`,
    );
  assert.deepEqual(executors('w', bodySwitch), ['w:ext_proc:binary only'], 'status says so');
  assert.deepEqual(
    executors('w', {
      ...bodySwitch,
      w: switchOf(
        [
          [{ header: 'x', equals: 'y' }, 't'],
          [{ body: '$.tier', equals: 'x' }, 'a'],
        ],
        'b',
      ),
      t: transformer('a'),
    }),
    ['w:ext_proc:binary only', 't:ext_proc'],
    'the transformer a header case leads to is the executor’s for every request',
  );
});

test('body conditions: exact number bounds, typed equals, one spelling per path', () => {
  const match = (when: Omit<SwitchCondition, 'body'>) =>
    bodyCondition({ body: '$.x', ...when })?.match;
  assert.deepEqual(match({ gt: 1 }), {
    kind: 'number-range',
    from: 1.0000000000000002,
    below: Infinity,
  });
  assert.deepEqual(match({ gte: 1 }), { kind: 'number-range', from: 1, below: Infinity });
  assert.deepEqual(match({ lt: -2 }), { kind: 'number-range', from: -Infinity, below: -2 });
  assert.deepEqual(match({ lte: 0 }), {
    kind: 'number-range',
    from: -Infinity,
    below: Number.MIN_VALUE,
  });
  assert.deepEqual(match({ equals: true }), { kind: 'bool', equals: true });
  assert.deepEqual(match({ equals: '3' }), {
    kind: 'string',
    match: { kind: 'exact', value: '3' },
  });
  assert.deepEqual(match({ in: [3] }), { kind: 'number', equals: 3 });
  assert.deepEqual(match({ regex: 'a+' }), {
    kind: 'string',
    match: { kind: 'regex', value: 'a+' },
  });
  assert.equal(nextUp(-1), -0.9999999999999999);
  assert.equal(nextUp(-Number.MIN_VALUE), -0);
  assert.equal(nextUp(Number.MAX_VALUE), Infinity);
  assert.equal(canonicalPath(['a', 'b-c', 'd.e', "it's"]), "$.a.b-c['d.e']['it\\'s']");
  assert.deepEqual(parseJsonPath(canonicalPath(['d.e', "it's", '\\'])), ['d.e', "it's", '\\']);
});

test('a body switch left to the executor is not held to what only Envoy cannot do', () => {
  // The mirror's shadow serves another path than its primary: a problem only when Envoy mirrors.
  const result = planGraph(
    graphOf('w', {
      w: switchOf(
        [
          [{ body: '$.a', equals: 'x' }, 't'],
          [{ body: '$.b', equals: 'y' }, 'm'],
        ],
        'a',
      ),
      t: transformer('a'),
      m: mirror('a', 's'),
      a: model(1),
      s: model(2),
    }),
  );
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(kinds(result.planned?.graph.rules ?? []), ['execute']);
});

test('a mirror over a subtree the executor runs is not held to what only Envoy cannot do', () => {
  const result = planGraph(
    graphOf('m', {
      m: mirror('split', 'a'),
      split: split({ t: 1, inner: 1 }),
      t: transformer('a'),
      inner: mirror('a', 's'),
      a: model(1),
      s: model(2),
    }),
  );
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(kinds(result.planned?.graph.rules ?? []), ['execute']);
});
