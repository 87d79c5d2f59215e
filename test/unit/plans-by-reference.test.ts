import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  graphPlanResources,
  MAX_PLAN_HEADER_BYTES,
  planCarriage,
} from '../../src/envoy/plan-carriage.ts';
import { GroupPipeline } from '../../src/controller/group-pipeline.ts';
import { EXECUTION_PLAN } from '../../src/envoy/type-urls.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { ReferencedPlans } from '../../src/executor/interpreter/referenced-plans.ts';
import {
  EXECUTION_PLAN_VERSION,
  PLAN_HEADER,
  PLAN_REFERENCE_HEADER,
  type ExecutionPlan,
} from '../../src/plan/execution.ts';
import { planHash } from '../../src/plan/plan-hash.ts';
import { MAX_GRAPH_DEPTH } from '../../src/spec/limits.ts';
import type { GraphPlan } from '../../src/plan/types.ts';

function planOf(propagated: string): ExecutionPlan {
  return {
    version: EXECUTION_PLAN_VERSION,
    graph: 'default/g',
    protocol: 'v2',
    timeoutMs: 2_000,
    entry: 'm',
    propagateHeaders: [propagated],
    returnOutputs: [],
    maxBodyBytes: 1024,
    nodes: {
      m: {
        kind: 'model',
        timeoutMs: 2_000,
        soft: false,
        propagateHeaders: [],
        hop: '/default/g/m',
        protocol: 'v2',
      },
    },
  };
}

/** A plan whose route header value is exactly `bytes` long. */
function planOfBytes(bytes: number, filler = 'x'): ExecutionPlan {
  const base = JSON.stringify(planOf('')).length;
  return planOf(filler.repeat(bytes - base));
}

describe('how a plan travels', () => {
  test('a plan that fits a header goes in it; one byte more goes by its hash', () => {
    const fits = planOfBytes(MAX_PLAN_HEADER_BYTES);
    assert.deepEqual(planCarriage(fits), { header: PLAN_HEADER, value: JSON.stringify(fits) });
    const large = planOfBytes(MAX_PLAN_HEADER_BYTES + 1);
    const text = JSON.stringify(large);
    assert.deepEqual(planCarriage(large), {
      header: PLAN_REFERENCE_HEADER,
      value: planHash(text),
      resource: { '@type': EXECUTION_PLAN, name: planHash(text), plan: text },
    });
  });

  test('"%" counts twice, as the route header carries it', () => {
    const half = Math.floor(JSON.stringify(planOf('')).length / 2);
    const plan = planOf('%'.repeat(MAX_PLAN_HEADER_BYTES / 2 - half + 1));
    assert.ok(JSON.stringify(plan).length <= MAX_PLAN_HEADER_BYTES);
    assert.equal(planCarriage(plan).header, PLAN_REFERENCE_HEADER);
  });

  test('the hash is of the content: equal plans share it, any change makes another', () => {
    const a = planOfBytes(MAX_PLAN_HEADER_BYTES + 10);
    const same = structuredClone(a);
    const other = { ...a, timeoutMs: 2_001 };
    assert.equal(planCarriage(a).value, planCarriage(same).value);
    assert.notEqual(planCarriage(a).value, planCarriage(other).value);
    assert.match(planCarriage(a).value, /^[0-9a-f]{64}$/);
  });

  test("a graph's plan resources: its large executor plans and feedback plan, none for small ones", () => {
    const large = planOfBytes(MAX_PLAN_HEADER_BYTES + 1);
    const feedback = planOfBytes(MAX_PLAN_HEADER_BYTES + 2);
    const small = planOf('x');
    const graph = {
      executors: [
        { entry: 'a', plan: large },
        { entry: 'b', plan: small },
      ],
      feedback,
    } as unknown as GraphPlan;
    assert.deepEqual(
      graphPlanResources(graph).map((r) => r.name),
      [planHash(JSON.stringify(large)), planHash(JSON.stringify(feedback))],
    );
  });
});

describe("the executor's plans by hash", () => {
  const text = JSON.stringify(planOf('a'));
  const name = planHash(text);

  test('a plan that arrives while a request waits for it answers that request', async () => {
    const plans = new ReferencedPlans({ waitMs: 5_000, source: 'test' });
    const waiting = plans.wait(name);
    plans.replace(new Map([[name, text]]));
    const plan = await waiting;
    assert.ok(plan.ok);
    assert.equal(plan.value.graph, 'default/g');
  });

  test('a plan that does not come in time is a 503 naming the hash and what was waited for', async () => {
    const plans = new ReferencedPlans({ waitMs: 20, source: 'the control plane at x:1' });
    assert.deepEqual(await plans.wait(name), {
      ok: false,
      status: 503,
      reason: `the route names plan ${name}, and the executor has no plan of that hash from the control plane yet: waited 20 ms for it from the control plane at x:1`,
    });
  });

  test('plans the control plane stops serving are kept: an Envoy may still name them', () => {
    const plans = new ReferencedPlans();
    plans.replace(new Map([[name, text]]));
    plans.replace(new Map());
    assert.equal(plans.size, 0);
    assert.equal(plans.get(name)?.ok, true);
  });

  test('a plan whose content is not of its hash, or of another version, is refused (502)', () => {
    const plans = new ReferencedPlans();
    const newer = JSON.stringify({ ...planOf('a'), version: 99 });
    plans.replace(
      new Map([
        [name, `${text} `],
        [planHash(newer), newer],
      ]),
    );
    const corrupt = plans.get(name);
    assert.ok(corrupt && !corrupt.ok);
    assert.match(corrupt.reason, /content of another hash/);
    assert.equal(corrupt.status, 502);
    const later = plans.get(planHash(newer));
    assert.match(later?.ok === false ? later.reason : '', /plan of version 99/);
  });
});

describe('plans kept for routes an Envoy may still run', () => {
  const listener = {
    address: '127.0.0.1',
    port: 10,
    hopPort: 11,
    executor: { address: '127.0.0.1', port: 12, workers: 1 },
  };
  const root = envoyProtos();
  const graphText = (node: string) => `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: long }
spec:
  entry: seq
  nodes:
    seq: { kind: sequence, steps: [${Array.from({ length: 700 }, () => `{ node: ${node} }`).join(', ')}, { node: a }, { node: b }] }
    a: { kind: model, endpoint: { addresses: ["127.0.0.1:9"] } }
    b: { kind: model, endpoint: { addresses: ["127.0.0.1:9"] } }
`;
  const update = (node: string) => {
    const { graphs, diagnostics } = loadGraphDocuments('long.yaml', graphText(node));
    return { unit: 'long.yaml', graphs, diagnostics };
  };
  const served = (cache: SnapshotCache) => [
    ...(cache.snapshotFor('switchyard')?.get(EXECUTION_PLAN)?.resources.keys() ?? []),
  ];

  test('a changed plan is served beside its successor until every Envoy runs the new routes', () => {
    const cache = new SnapshotCache();
    const pipeline = new GroupPipeline('switchyard', cache, root, listener, {
      log: () => undefined,
    });
    pipeline.apply([update('a')]);
    const [first] = served(cache);
    assert.ok(first);
    assert.equal(pipeline.retainsPlans, false);
    pipeline.apply([update('b')]);
    const both = served(cache);
    assert.equal(both.length, 2);
    assert.ok(both.includes(first));
    assert.equal(pipeline.retainsPlans, true);
    pipeline.envoysRunCurrentRoutes();
    const [second, ...others] = served(cache);
    assert.deepEqual(others, []);
    assert.notEqual(second, first);
    assert.equal(pipeline.retainsPlans, false);
  });

  test('a plan that comes back is current again, not retained', () => {
    const cache = new SnapshotCache();
    const pipeline = new GroupPipeline('switchyard', cache, root, listener, {
      log: () => undefined,
    });
    pipeline.apply([update('a')]);
    pipeline.apply([update('b')]);
    pipeline.apply([update('a')]);
    assert.equal(served(cache).length, 2);
    pipeline.envoysRunCurrentRoutes();
    assert.equal(served(cache).length, 1);
  });
});

describe('how deep a graph may nest', () => {
  const chain = (sequences: number) => `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: deep }
spec:
  entry: s0
  nodes:
${Array.from({ length: sequences }, (_, i) => `    s${String(i)}: { kind: sequence, steps: [{ node: ${i + 1 < sequences ? `s${String(i + 1)}` : 'm'} }] }`).join('\n')}
    m: { kind: model, endpoint: { addresses: ["127.0.0.1:9"] } }
`;

  test(`${String(MAX_GRAPH_DEPTH)} nodes deep is a graph; one more is the limit, said at the node past it`, () => {
    assert.deepEqual(loadGraphDocuments('deep.yaml', chain(MAX_GRAPH_DEPTH - 1)).diagnostics, []);
    const { diagnostics, graphs } = loadGraphDocuments('deep.yaml', chain(MAX_GRAPH_DEPTH));
    assert.deepEqual(graphs, []);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.path, d.message]),
      [
        [
          'limit-exceeded',
          `spec.nodes.m`,
          `the graph nests ${String(MAX_GRAPH_DEPTH + 1)} nodes deep from its entry (s0 → s1 → s2 → …), past the ${String(MAX_GRAPH_DEPTH)} a graph may`,
        ],
      ],
    );
  });

  test('far deeper than the stack would take is refused, not a crash', () => {
    const { diagnostics } = loadGraphDocuments('deep.yaml', chain(5_000));
    assert.equal(diagnostics[0]?.code, 'limit-exceeded');
  });
});
