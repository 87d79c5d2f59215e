import fc from 'fast-check';

/**
 * fast-check generators of graph documents the validator should accept,
 * leaning on the edges of what it accepts: the longest durations, the
 * largest counts, weights that sum to the most Envoy takes, regexes near
 * Envoy's program size limit, odd but legal names, deep nesting and long
 * sequences. Each document is JSON (which is YAML).
 */

const durations = fc.constantFrom(
  '1ms',
  '250ms',
  '2s',
  '1.5s',
  '1m',
  '9000000000s',
  '9223372035.999s',
  '9223372035999ms',
  '2562047h',
  '153722867m',
);
const counts = fc.oneof(
  fc.constantFrom(1, 2, 1024, 2147483647, 4294967294, 4294967295),
  fc.integer({ min: 1, max: 4294967295 }),
);
const modelNames = fc.constantFrom(
  'iris',
  'a%20b%3Fc%23d',
  'r%C3%A9sum%C3%A9',
  "m~x:y@z!$&'()*+,;=",
  'v1.2_x-y',
  'A',
  '%25',
);
const headerNames = fc.constantFrom(
  'x-tier',
  "x!#$%&'*+.^_`|~y",
  'X-User-ID',
  'a',
  `x-${'h'.repeat(200)}`,
);
const queryNames = fc.constantFrom('tier', "a-._~!$'()*,;:@/?[]", `q${'q'.repeat(1023)}`, 'T');
const asciiValues = fc.constantFrom(
  'gold',
  'gold plus',
  "~!@$^&*()_+{}|:<>?`-=[];',./",
  ' ',
  'x'.repeat(500),
);
const queryValues = fc.constantFrom('gold', "a-._~!$'()*,;:@/?[]", 'g'.repeat(300));
/** Regexes at and under Envoy's limit of 100: [a-z]{96} is exactly 100. */
const regexes = fc.oneof(
  fc.integer({ min: 1, max: 96 }).map((n) => `[a-z]{${String(n)}}`),
  fc.constantFrom(
    '(?i)gold|silver',
    '^x-[0-9]+$',
    '.*',
    '\\d{1,3}(?:\\.\\d{1,3}){3}',
    '(?:ab|cd)*e?',
    '\\p{L}+',
    '[^/]+',
  ),
);

interface Context {
  /** Names of the models made so far: every composite ends in models. */
  readonly models: Record<string, unknown>;
}

function model(ctx: Context, name: string, settings: Record<string, unknown>): string {
  ctx.models[name] = settings;
  return name;
}

const endpointSettings = fc
  .record(
    {
      model: modelNames,
      timeout: durations,
      retries: fc.record({
        attempts: fc.integer({ min: 0, max: 10 }),
        on: fc.constantFrom(['5xx'], ['reset', 'connect-failure']),
      }),
      circuitBreaker: fc.record(
        {
          maxConnections: counts,
          maxPendingRequests: counts,
          maxRequests: counts,
          maxRetries: fc.oneof(fc.constant(0), counts),
        },
        { requiredKeys: [] },
      ),
      outlierDetection: fc.record(
        {
          consecutive5xx: counts,
          interval: durations,
          baseEjectionTime: durations,
          maxEjectionPercent: fc.integer({ min: 0, max: 100 }),
        },
        { requiredKeys: [] },
      ),
      propagateHeaders: fc.uniqueArray(headerNames, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  )
  .map((settings) =>
    // A try may last as long as its step: the longest per-try timeout the node allows.
    settings.retries === undefined
      ? settings
      : {
          ...settings,
          retries: { ...settings.retries, perTryTimeout: settings.timeout ?? '9223372035.999s' },
        },
  );

const conditions = fc.oneof(
  fc.record({ header: headerNames, equals: asciiValues }),
  fc.record({ header: headerNames, prefix: asciiValues.filter((v) => v !== '') }),
  fc.record({ header: headerNames, regex: regexes }),
  fc.record({
    header: headerNames,
    in: fc.uniqueArray(fc.constantFrom('gold', 'silver', 'bronze', 'x', '1'), {
      minLength: 1,
      maxLength: 5,
    }),
  }),
  fc.record({ query: queryNames, equals: queryValues }),
  fc.record({ query: queryNames, regex: regexes }),
  fc.record({
    body: fc.constantFrom('$.tier', '$.parameters.tier', "$['a b']", '$.x.y.z'),
    equals: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
    ),
  }),
  fc.record({
    body: fc.constantFrom('$.score', '$.a.b'),
    gt: fc.double({ noNaN: true, noDefaultInfinity: true }),
  }),
  fc.record({ body: fc.constantFrom('$.tier'), regex: regexes }),
);

/** A subtree of native nodes (splitter, switch, mirror) or models, `depth` levels deep at most. */
function subtree(
  depth: number,
): fc.Arbitrary<(ctx: Context, nodes: Record<string, unknown>, prefix: string) => string> {
  // A V2 server that takes no binary tensors: Envoy sends binary requests for it to the executor.
  const jsonOnly = fc.option(fc.constant({ protocol: 'v2', binaryTensors: false }), {
    nil: undefined,
    freq: 4,
  });
  const leaf = fc.tuple(endpointSettings, jsonOnly).map(
    ([settings, binary]) =>
      (ctx: Context, _nodes: Record<string, unknown>, prefix: string) =>
        model(ctx, `${prefix}m`, {
          kind: 'model',
          endpoint: { addresses: ['127.0.0.1:9001'] },
          ...settings,
          ...binary,
        }),
  );
  if (depth === 0) return leaf;
  const child = subtree(depth - 1);
  const splitter = fc
    .tuple(
      fc.array(fc.tuple(child, fc.constantFrom(0, 1, 7, 1000000, 2147483647)), {
        minLength: 1,
        maxLength: 2,
      }),
      fc.option(durations, { nil: undefined }),
    )
    .map(([routes, timeout]) => (ctx: Context, nodes: Record<string, unknown>, prefix: string) => {
      const made = routes.map(([build, weight], i) => ({
        to: build(ctx, nodes, `${prefix}${String(i)}-`),
        weight,
      }));
      if (made.every((r) => r.weight === 0) && made[0]) made[0].weight = 1;
      nodes[`${prefix}split`] = {
        kind: 'splitter',
        routes: made,
        ...(timeout !== undefined && { timeout }),
      };
      return `${prefix}split`;
    });
  const switchNode = fc
    .tuple(fc.array(fc.tuple(conditions, child), { minLength: 1, maxLength: 3 }), child)
    .map(([cases, fallback]) => (ctx: Context, nodes: Record<string, unknown>, prefix: string) => {
      nodes[`${prefix}switch`] = {
        kind: 'switch',
        cases: cases.map(([when, build], i) => ({
          when,
          to: build(ctx, nodes, `${prefix}${String(i)}-`),
        })),
        default: fallback(ctx, nodes, `${prefix}d-`),
      };
      return `${prefix}switch`;
    });
  // Envoy mirrors the primary's rewritten request, so the shadow serves the primary's model name.
  const mirror = fc
    .tuple(endpointSettings, fc.constantFrom(0.01, 12.5, 50, 100))
    .map(
      ([settings, percent]) =>
        (ctx: Context, nodes: Record<string, unknown>, prefix: string) => {
          const endpoint = { addresses: ['127.0.0.1:9002'] };
          const name = settings.model ?? 'shared';
          const to = model(ctx, `${prefix}primary`, {
            kind: 'model',
            endpoint,
            ...settings,
            model: name,
          });
          const shadow = model(ctx, `${prefix}shadow`, { kind: 'model', endpoint, model: name });
          nodes[`${prefix}mirror`] = { kind: 'mirror', to, shadow, percent };
          return `${prefix}mirror`;
        },
    );
  return fc.oneof({ depthSize: 'small' }, leaf, splitter, switchNode, mirror);
}

/** Steps the executor runs: a sequence (long ones too) or an ensemble over models. */
const executorRoot = fc.oneof(
  fc
    .integer({ min: 1, max: 80 })
    .map((steps) => (ctx: Context, nodes: Record<string, unknown>, prefix: string) => {
      nodes[`${prefix}seq`] = {
        kind: 'sequence',
        steps: Array.from({ length: steps }, (_, i) => ({
          node: model(ctx, `${prefix}s${String(i)}`, {
            kind: 'model',
            endpoint: { addresses: ['127.0.0.1:9003'] },
          }),
        })),
      };
      return `${prefix}seq`;
    }),
  fc
    .integer({ min: 2, max: 6 })
    .map((children) => (ctx: Context, nodes: Record<string, unknown>, prefix: string) => {
      nodes[`${prefix}ens`] = {
        kind: 'ensemble',
        combine: 'mean',
        children: Array.from({ length: children }, (_, i) =>
          model(ctx, `${prefix}e${String(i)}`, {
            kind: 'model',
            endpoint: { url: 'http://model.example:8080' },
          }),
        ),
      };
      return `${prefix}ens`;
    }),
  // A combiner node, fed the answers (its protocol's) or one V2 inference request.
  fc
    .record({
      children: fc.integer({ min: 1, max: 4 }),
      input: fc.constantFrom('responses', 'inference-request'),
      binaryTensors: fc.option(fc.boolean(), { nil: undefined }),
    })
    .map(({ children, input, binaryTensors }) => (ctx: Context, nodes: Record<string, unknown>) => {
      nodes.comb = {
        kind: 'combiner',
        protocol: 'v2',
        combinerInput: input,
        endpoint: { addresses: ['127.0.0.1:9004'] },
        ...(binaryTensors !== undefined && { binaryTensors }),
      };
      nodes.ens = {
        kind: 'ensemble',
        combiner: 'comb',
        children: Array.from({ length: children }, (_, i) =>
          model(ctx, `c${String(i)}`, {
            kind: 'model',
            protocol: 'v2',
            endpoint: { addresses: ['127.0.0.1:9005'] },
            ...(binaryTensors !== undefined && { binaryTensors: !binaryTensors }),
          }),
        ),
      };
      return 'ens';
    }),
);

/** A graph document named `name`, as JSON text. */
export function graphArbitrary(name: string): fc.Arbitrary<string> {
  return fc
    .record({
      root: fc.oneof({ weight: 3, arbitrary: subtree(4) }, { weight: 1, arbitrary: executorRoot }),
      // Node names as KServe and Seldon spell them: "_", ".", uppercase (a prefix of every name).
      prefix: fc.constantFrom('n', 'Model_A.', 'x_Y.z-', 'N'),
      protocol: fc.constantFrom('v1', 'v2', 'seldon'),
      timeout: durations,
      maxRequestBytes: fc.constantFrom(1, 1024, 10485760, 1073741824),
      propagateHeaders: fc.uniqueArray(headerNames, { maxLength: 2 }),
      // V1 graphs may name an explainer: a model of their own, or one apart from the flow.
      explainer: fc.option(
        fc.oneof(
          fc.constant('a model of the flow' as const),
          endpointSettings.map((settings) => ({ kind: 'model', ...settings })),
        ),
        { nil: undefined },
      ),
      hops: fc.constantFrom(undefined, 'envoy', 'direct'),
    })
    .map(
      ({ root, prefix, protocol, timeout, maxRequestBytes, propagateHeaders, explainer, hops }) => {
        const ctx: Context = { models: {} };
        const nodes: Record<string, unknown> = {};
        const entry = root(ctx, nodes, prefix);
        const explains =
          protocol !== 'v1' || explainer === undefined
            ? undefined
            : explainer === 'a model of the flow'
              ? Object.keys(ctx.models)[0]
              : model(ctx, 'explainer', {
                  ...explainer,
                  endpoint: { addresses: ['127.0.0.1:9004'] },
                });
        return JSON.stringify({
          apiVersion: 'switchyard.io/v1alpha1',
          kind: 'InferenceGraph',
          metadata: { name },
          spec: {
            entry,
            protocol,
            // The Seldon protocol has one path per host.
            ...(protocol === 'seldon' && { host: `${name}.example.com` }),
            timeout,
            maxRequestBytes,
            propagateHeaders,
            ...(explains !== undefined && { explainer: explains }),
            ...(hops !== undefined && { hops }),
            nodes: { ...nodes, ...ctx.models },
          },
        });
      },
    );
}
