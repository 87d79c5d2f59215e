import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { resolveEnvoy } from '../../src/runtime/envoy-binary.ts';
import { compileGraphs } from '../../src/controller/compile.ts';
import { serviceLoadAssignment } from '../../src/envoy/cluster.ts';
import type { ResourceSet } from '../../src/envoy/resource-set.ts';
import { CLUSTER, ENDPOINT, EXECUTION_PLAN } from '../../src/envoy/type-urls.ts';
import { MAX_PLAN_HEADER_BYTES, planCarriage } from '../../src/envoy/plan-carriage.ts';
import { PLAN_HEADER, PLAN_REFERENCE_HEADER } from '../../src/plan/execution.ts';
import { translate } from '../../src/envoy/translate.ts';
import type { GraphModel, NodeModel } from '../../src/graph/model.ts';
import { planGraph } from '../../src/plan/plan.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { MAX_REGEX_PROGRAM_SIZE, regexProgramSize } from '../../src/spec/regex-program-size.ts';
import { graphArbitrary } from '../support/graph-arbitraries.ts';
import { envoyRefusal, staticBootstrap } from '../support/static-envoy.ts';
import { defaultListener } from '../support/listener.ts';

/**
 * The rule this file pins: a spec Switchyard accepts, Envoy accepts. Every
 * golden case and example, boundary graphs on both sides of each limit, and
 * graphs fast-check generates along those limits are compiled and handed to
 * a real Envoy 1.40 (`--mode validate` on a static bootstrap holding every
 * compiled resource), which must refuse none; values just past a limit,
 * compiled past the validator, must be refused by Envoy as by us.
 */

const listener = defaultListener();
const root = envoyProtos();
let envoy = '';

before(async () => {
  envoy = (await resolveEnvoy()).path;
});

function load(source: string, text: string): GraphModel[] {
  const { graphs, diagnostics } = loadGraphDocuments(source, text);
  assert.deepEqual(diagnostics, [], `${source} is valid`);
  return graphs;
}

/** Compiles graphs the validator accepts whole, and asks Envoy about them; undefined if it takes them. */
async function envoyVerdict(graphs: readonly GraphModel[]): Promise<string | undefined> {
  // Service-served nodes (the service case) compile as under a Kubernetes source.
  const compiled = compileGraphs(graphs, listener, root, { services: true });
  assert.deepEqual(compiled.diagnostics, [], 'the validator accepts every graph of the batch');
  return envoyRefusal(envoy, staticBootstrap(withServiceEndpoints(compiled.resources)));
}

/**
 * The endpoints the controller would send for Service-served clusters (the
 * only EDS clusters a compile leaves without them): one ready IPv4 endpoint
 * and one draining IPv6 one, as EndpointSlices give them.
 */
function withServiceEndpoints(resources: ResourceSet): ResourceSet {
  const endpoints = new Map(resources.get(ENDPOINT));
  for (const [name, cluster] of resources.get(CLUSTER) ?? []) {
    if (cluster.type !== 'EDS' || endpoints.has(name)) continue;
    endpoints.set(
      name,
      serviceLoadAssignment(name, [
        { address: '10.0.0.7', port: 8080, draining: false },
        { address: 'fd00::7', port: 8080, draining: true },
      ]),
    );
  }
  return new Map([...resources, [ENDPOINT, endpoints]]);
}

/** The resources of graphs, planned and translated without the compiler's checks: what a validator that let them through would push. */
async function envoyVerdictPastTheValidator(
  graphs: readonly GraphModel[],
): Promise<string | undefined> {
  const planned = graphs.map((graph) => {
    const { planned: plan } = planGraph(graph);
    assert.ok(plan);
    return plan;
  });
  return envoyRefusal(envoy, staticBootstrap(translate(planned, listener).resources));
}

function withNode(
  graph: GraphModel,
  name: string,
  change: (node: NodeModel) => NodeModel,
): GraphModel {
  const node = graph.nodes.get(name);
  assert.ok(node);
  return { ...graph, nodes: new Map([...graph.nodes, [name, change(node)]]) };
}

const switchGraph = (name: string, when: string) =>
  load(
    `${name}.yaml`,
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: s
  nodes:
    s: { kind: switch, cases: [{ when: ${when}, to: a }], default: b }
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }
    b: { kind: model, endpoint: { addresses: ["127.0.0.1:9002"] } }
`,
  )[0] as GraphModel;

test('every golden case and example graph compiles to config Envoy accepts', async () => {
  const cases = join(import.meta.dirname, '..', 'golden', 'cases');
  // Golden cases may share graph names: one Envoy run each.
  for (const file of readdirSync(cases).filter((f) => f.endsWith('.yaml'))) {
    const graphs = load(file, readFileSync(join(cases, file), 'utf8'));
    assert.equal(await envoyVerdict(graphs), undefined, file);
  }
  const examples = join(import.meta.dirname, '..', '..', 'examples');
  const graphs = readdirSync(examples).flatMap((file) =>
    load(file, readFileSync(join(examples, file), 'utf8')),
  );
  assert.equal(await envoyVerdict(graphs), undefined, 'examples');
});

test('regexes: the largest program we accept passes Envoy, the next is refused by both', async () => {
  for (const source of ['header: x-tier', 'query: tier', 'body: $.tier']) {
    const largest = switchGraph('largest', `{ ${source}, regex: "[a-z]{96}" }`);
    assert.equal(await envoyVerdict([largest]), undefined, source);
    const next = withNode(largest, 's', (node) =>
      node.kind === 'switch'
        ? {
            ...node,
            cases: node.cases.map((c) => ({ ...c, when: { ...c.when, regex: '[a-z]{97}' } })),
          }
        : node,
    );
    assert.deepEqual(regexProgramSize('[a-z]{97}'), { size: MAX_REGEX_PROGRAM_SIZE + 1 });
    assert.match(
      (await envoyVerdictPastTheValidator([next])) ?? 'accepted',
      /regex '\[a-z\]\{97\}' RE2 program size of 101 > max program size of 100/,
    );
  }
});

/** Envoy's own count of a regex's program: it says it when the limit is 0. */
async function envoysProgramSize(pattern: string): Promise<number | string> {
  const bootstrap = {
    layered_runtime: {
      layers: [{ name: 'sizes', static_layer: { 're2.max_program_size.error_level': 0 } }],
    },
    static_resources: {
      listeners: [
        {
          name: 'l',
          address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'x',
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type':
                            'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'v',
                          domains: ['*'],
                          routes: [
                            {
                              match: {
                                prefix: '/',
                                headers: [
                                  { name: 'x', string_match: { safe_regex: { regex: pattern } } },
                                ],
                              },
                              direct_response: { status: 200 },
                            },
                          ],
                        },
                      ],
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
  const said = (await envoyRefusal(envoy, bootstrap)) ?? '';
  const size = /RE2 program size of (\d+)/.exec(said)?.[1];
  return size === undefined ? said : Number(size);
}

test('RE2 program sizes are Envoy’s own, for generated regexes and the awkward cases', async () => {
  const atoms = [
    'a',
    'z',
    '.',
    '\\d',
    '\\w',
    '\\s',
    '[a-z]',
    '[^a-z]',
    '\\pL',
    '\\p{Greek}',
    'é',
    '日',
    '(?i)k',
    '\\b',
    '^',
    '$',
    '\\A',
    '\\z',
    '[[:alpha:]]',
  ];
  const regex: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(...atoms),
      fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((parts) => parts.join('')),
      fc
        .array(tie('node'), { minLength: 2, maxLength: 3 })
        .map((parts) => `(?:${parts.join('|')})`),
      fc
        .tuple(tie('node'), fc.constantFrom('*', '+', '?', '{2}', '{0,3}', '{3,}', '*?', '{1,5}'))
        .map(([n, q]) => `(?:${n})${q}`),
    ),
  })).node;
  const seed = Date.now();
  const patterns = [
    '[a-z]{300}',
    '(?:^){1,5}',
    '(?:\\z){2,12}',
    '(?:\\pL){1,5}',
    '(?i)straße',
    ...fc.sample(regex, { numRuns: 35, seed }),
  ];
  for (const pattern of patterns) {
    const ours = regexProgramSize(pattern);
    const theirs = await envoysProgramSize(pattern);
    if ('size' in ours) assert.equal(ours.size, theirs, `${pattern} (seed ${String(seed)})`);
    else
      assert.match(
        String(theirs),
        /error initializing configuration/,
        `${pattern}: we refused it (${ours.error}), so must Envoy`,
      );
  }
});

test('durations: the longest we accept passes Envoy on every duration field, one second more is refused by both', async () => {
  const text = (value: string) => `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: long }
spec:
  entry: a
  timeout: ${value}
  nodes:
    a:
      kind: model
      endpoint: { addresses: ["127.0.0.1:9001"] }
      timeout: ${value}
      retries: { attempts: 1, perTryTimeout: ${value} }
      outlierDetection: { interval: ${value}, baseEjectionTime: ${value} }
`;
  assert.equal(await envoyVerdict(load('long.yaml', text('9223372035.999s'))), undefined);
  assert.equal(loadGraphDocuments('longer.yaml', text('9223372036s')).diagnostics.length, 5);
  // Past the validator, each field alone: Envoy refuses every one of them.
  const [graph] = load('long.yaml', text('1s'));
  assert.ok(graph);
  // The graph model holds durations in milliseconds: 9223372036 s, one past Envoy's bound.
  const tooLong = 9_223_372_036_000;
  const changes: [string, (node: NodeModel) => NodeModel][] = [
    ['timeout', (node) => ({ ...node, timeoutMs: tooLong })],
    ['perTryTimeout', (node) => ({ ...node, retries: { attempts: 1, perTryTimeoutMs: tooLong } })],
    [
      'interval',
      (node) =>
        'endpoint' in node ? { ...node, outlierDetection: { intervalMs: tooLong } } : node,
    ],
    [
      'baseEjectionTime',
      (node) =>
        'endpoint' in node ? { ...node, outlierDetection: { baseEjectionTimeMs: tooLong } } : node,
    ],
  ];
  for (const [field, change] of changes) {
    const past = withNode({ ...graph, timeoutMs: tooLong }, 'a', change);
    assert.match(
      (await envoyVerdictPastTheValidator([past])) ?? 'accepted',
      /Duration out-of-range/,
      field,
    );
  }
});

test('plan header: the longest plan in a header passes Envoy, one byte more goes by reference and passes too', async () => {
  const text = (padding: number) => `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: long }
spec:
  entry: q
  propagateHeaders: [x-${'p'.repeat(padding)}]
  nodes:
    q: { kind: sequence, steps: [${Array.from({ length: 90 }, (_, i) => `{ node: m${String(i)} }`).join(', ')}] }
${Array.from({ length: 90 }, (_, i) => `    m${String(i)}: { kind: model, endpoint: { addresses: ["127.0.0.1:9001"] } }`).join('\n')}
`;
  const carried = (padding: number) => {
    const [graph] = loadGraphDocuments('long.yaml', text(padding)).graphs;
    assert.ok(graph);
    const { planned } = planGraph(graph);
    const plan = planned?.graph.executors[0]?.plan;
    assert.ok(plan);
    const bytes = Buffer.byteLength(JSON.stringify(plan).replaceAll('%', '%%'));
    return { graph, bytes, carriage: planCarriage(plan) };
  };
  // Each character of a propagated header's name is one byte of the plan.
  const padding = 1 + MAX_PLAN_HEADER_BYTES - carried(1).bytes;
  const largest = carried(padding);
  assert.equal(largest.bytes, MAX_PLAN_HEADER_BYTES);
  assert.equal(largest.carriage.header, PLAN_HEADER);
  assert.equal(await envoyVerdict([largest.graph]), undefined);
  const next = carried(padding + 1);
  assert.equal(next.bytes, MAX_PLAN_HEADER_BYTES + 1);
  assert.equal(next.carriage.header, PLAN_REFERENCE_HEADER);
  assert.match(next.carriage.value, /^[0-9a-f]{64}$/);
  const compiled = compileGraphs([next.graph], listener, root);
  assert.deepEqual(compiled.diagnostics, []);
  assert.deepEqual(
    [...(compiled.resources.get(EXECUTION_PLAN)?.keys() ?? [])],
    [next.carriage.value],
  );
  assert.equal(await envoyVerdict([next.graph]), undefined);
});

test('graphs generated along every limit: whatever the validator accepts, Envoy accepts', async () => {
  const seed = Date.now();
  const texts = fc.sample(
    fc.nat().chain((i) => graphArbitrary(`g${String(i)}`)),
    { numRuns: 240, seed },
  );
  const accepted: GraphModel[] = [];
  const names = new Set<string>();
  let refused = 0;
  for (const [index, text] of texts.entries()) {
    const renamed = text
      .replace(/"metadata":\{"name":"[^"]+"\}/, `"metadata":{"name":"g${String(index)}"}`)
      .replace(/"host":"[^"]+"/, `"host":"g${String(index)}.example.com"`);
    const { graphs } = loadGraphDocuments(`g${String(index)}.json`, renamed);
    const compiled = compileGraphs(graphs, listener, root);
    if (graphs.length === 0 || compiled.diagnostics.length > 0) {
      refused++;
      continue;
    }
    for (const graph of graphs) {
      assert.ok(!names.has(graph.name));
      names.add(graph.name);
      accepted.push(graph);
    }
  }
  // The generators aim inside the limits: most graphs must be accepted for this to test much.
  assert.ok(
    accepted.length >= texts.length * 0.6,
    `only ${String(accepted.length)} of ${String(texts.length)} accepted (seed ${String(seed)})`,
  );
  for (let at = 0; at < accepted.length; at += 80) {
    assert.equal(
      await envoyVerdict(accepted.slice(at, at + 80)),
      undefined,
      `seed ${String(seed)}; ${String(refused)} refused by the validator`,
    );
  }
});
