import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { importObjects } from '../../src/import/import.ts';
import type { ServiceAddress } from '../../src/import/result.ts';
import { post, waitFor, type Reply } from '../support/http.ts';
import {
  startKserveServer,
  startSeldonMicroservice,
  type PythonModelServer,
} from '../support/python-servers.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The KServe docs' and tests' InferenceGraphs and the Seldon docs'
 * SeldonDeployments (test/golden/import/cases), imported unchanged and run
 * through a real Envoy and the executor against the real kserve 0.21 and
 * seldon-core 1.18 servers. Each answer is the one KServe's router
 * (kserve cmd/router/main.go) or Seldon's executor
 * (seldon-core executor/predictor/predictor_process.go) gives; where
 * Switchyard answers otherwise, the test says so and the import printed it.
 */

/** The InferenceServices of the KServe cases, one kserve ModelServer serving them all. */
const kserveModels = `
from fastapi import HTTPException
from kserve import Model


class Fixed(Model):
    def __init__(self, name, answer):
        super().__init__(name)
        self.answer = answer
        self.ready = True

    def predict(self, payload, headers=None):
        return self.answer


class CatDog(Model):
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        return {"predictions": ["dog" if "dog" in str(payload["instances"][0]) else "cat"]}


class Error404(Model):
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        raise HTTPException(status_code=404, detail="Intentional 404 code")


def label(name, score):
    return {"predictions": [{"label": name, "score": score}]}


def models():
    return [
        CatDog("cat-dog-classifier"),
        Fixed("dog-breed-classifier", {"predictions": [{"Kuvasz": 0.98}]}),
        Fixed("success-200-isvc", {"predictions": [{"message": "SUCCESS"}]}),
        Error404("error-404-isvc"),
        Fixed("sklearn-iris", {"predictions": [1]}),
        Fixed("xgboost-iris", {"predictions": [2]}),
        Fixed("model1", label("cat", [0.1, 0.9])),
        Fixed("model2", label("dog", [0.8, 0.2])),
        Fixed("model3", label("beagle", [0.1, 0.9])),
        Fixed("model4", label("poodle", [0.8, 0.2])),
    ]
`;

const kserveModelNames = [
  'cat-dog-classifier',
  'dog-breed-classifier',
  'success-200-isvc',
  'error-404-isvc',
  'sklearn-iris',
  'xgboost-iris',
  'model1',
  'model2',
  'model3',
  'model4',
];

/** Seldon components, each a seldon-core microservice of its role. */
const seldonComponents = {
  ModelA: {
    serviceType: 'MODEL',
    source: `import numpy as np


class ModelA:
    def predict(self, X, features_names=None):
        return np.asarray(X).sum(axis=1)
`,
  },
  ModelB: {
    serviceType: 'MODEL',
    source: `import numpy as np


class ModelB:
    def predict(self, X, features_names=None):
        return np.asarray(X).sum(axis=1) * 10
`,
  },
  AddOne: {
    serviceType: 'TRANSFORMER',
    source: `import numpy as np


class AddOne:
    def transform_input(self, X, features_names=None):
        return np.asarray(X) + 1
`,
  },
  Pick: {
    serviceType: 'ROUTER',
    source: `import numpy as np


class Pick:
    def route(self, features, feature_names):
        return 0 if float(np.asarray(features).flatten()[0]) < 10 else 1
`,
  },
  Mean: {
    serviceType: 'COMBINER',
    source: `import numpy as np


class Mean:
    def aggregate(self, Xs, features_names=None):
        return np.mean([np.asarray(x) for x in Xs], axis=0)
`,
  },
} as const;

const casesDir = join(import.meta.dirname, '..', 'golden', 'import', 'cases');

let kserve: PythonModelServer;
const seldon = new Map<keyof typeof seldonComponents, PythonModelServer>();
let stack: Stack;

function at(server: PythonModelServer, extra: Partial<ServiceAddress> = {}): ServiceAddress {
  return { endpoint: { addresses: [`127.0.0.1:${String(server.port)}`] }, ...extra };
}

function seldonAt(name: keyof typeof seldonComponents): ServiceAddress {
  const server = seldon.get(name);
  if (!server) throw new Error(`no ${name}`);
  return at(server);
}

/** A case imported, in its own namespace, its graphs as files; Seldon graphs on a host of their own. */
function imported(file: string, addresses: Map<string, ServiceAddress>): Record<string, string> {
  const objects = parseAllDocuments(readFileSync(join(casesDir, file), 'utf8')).map((doc, i) => ({
    source: `${file}#${String(i + 1)}`,
    value: doc.toJS() as unknown,
  }));
  const namespace = file.replace(/\.yaml$/, '');
  const result = importObjects(objects, { addresses, namespace });
  assert.equal(result.refused.length, 0, JSON.stringify(result.notes));
  const files: Record<string, string> = {};
  for (const graph of result.graphs) {
    const spec =
      graph.spec.protocol === 'seldon'
        ? { ...graph.spec, host: `${namespace}.seldon.test` }
        : graph.spec;
    files[`${namespace}.yaml`] = stringify({ ...graph, spec });
  }
  return files;
}

before(async () => {
  const started = await Promise.all([
    startKserveServer({ source: kserveModels, models: kserveModelNames }),
    ...Object.entries(seldonComponents).map(([className, component]) =>
      startSeldonMicroservice({
        className,
        source: component.source,
        serviceType: component.serviceType,
      }),
    ),
  ]);
  const [first, ...rest] = started;
  kserve = first;
  Object.keys(seldonComponents).forEach((name, index) => {
    const server = rest[index];
    if (server) seldon.set(name as keyof typeof seldonComponents, server);
  });
  // Where each service listens, as --addresses says: InferenceServices by name, serviceUrl hosts,
  // Seldon units by name (or predictor/unit).
  const addresses = new Map<string, ServiceAddress>([
    ...kserveModelNames.map((name): [string, ServiceAddress] => [name, at(kserve)]),
    ...['model1', 'model2', 'model3', 'model4'].map((name): [string, ServiceAddress] => [
      `${name}.default.svc.cluster.local`,
      at(kserve),
    ]),
    ['classifier', seldonAt('ModelA')],
    ['canary/classifier', seldonAt('ModelB')],
    ['shadow/classifier', seldonAt('ModelB')],
    ['feature-transformer', seldonAt('AddOne')],
    ['eg-router', seldonAt('Pick')],
    ['combiner', seldonAt('Mean')],
    ['model-a', seldonAt('ModelA')],
    ['model-b', seldonAt('ModelB')],
  ]);
  const files = Object.assign(
    {},
    ...[
      'kserve-sequence.yaml',
      'kserve-switch.yaml',
      'kserve-ensemble.yaml',
      'kserve-splitter.yaml',
      'seldon-single.yaml',
      'seldon-transformer.yaml',
      'seldon-router.yaml',
      'seldon-combiner.yaml',
      'seldon-ab.yaml',
      'seldon-shadow.yaml',
    ].map((file) => imported(file, addresses)),
  ) as Record<string, string>;
  stack = await startStack('import', files);
  // Every graph is served once the last one answers.
  await waitFor(
    'the imported graphs',
    async () => {
      try {
        const seldonReply = await post(
          `${stack.base}/api/v1.0/predictions`,
          seldonBody([[1, 2, 3]]),
          {
            host: 'seldon-shadow.seldon.test',
          },
        );
        const kserveReply = await kserveGraph('splitter-model', { instances: [[1]] });
        return seldonReply.status === 200 && kserveReply.status === 200;
      } catch {
        return false;
      }
    },
    60_000,
    250,
  );
});

after(async () => {
  await stack.stop();
  await Promise.all([kserve, ...seldon.values()].map((server) => server.stop()));
});

function kserveGraph(graph: string, body: unknown): Promise<Reply> {
  return post(`${stack.base}/v1/models/${graph}:predict`, body);
}

function seldonBody(ndarray: unknown): unknown {
  return { data: { ndarray } };
}

async function seldonGraph(namespace: string, ndarray: unknown): Promise<Reply> {
  return post(`${stack.base}/api/v1.0/predictions`, seldonBody(ndarray), {
    host: `${namespace}.seldon.test`,
  });
}

function ndarrayOf(reply: Reply): unknown {
  return (reply.json as { data?: { ndarray?: unknown } } | undefined)?.data?.ndarray;
}

test("KServe Sequence (the docs' dog breed pipeline): a condition that holds runs the step on the original request; one that fails answers the previous step, 200", async () => {
  // main.go routeStep, Sequence: the step gets `input` unless data is $response; its condition is
  // tested on the previous response, and a failed one returns that response with 200 (PR #4429).
  const dog = await kserveGraph('dog-breed-pipeline', { instances: ['dog.jpg'] });
  assert.equal(dog.status, 200, dog.text);
  assert.deepEqual(dog.json, { predictions: [{ Kuvasz: 0.98 }] });
  const cat = await kserveGraph('dog-breed-pipeline', { instances: ['cat.jpg'] });
  assert.equal(cat.status, 200, cat.text);
  assert.deepEqual(cat.json, { predictions: ['cat'] });
});

test('KServe Switch (e2e scenario 4): the first step whose condition exists; none: 404', async () => {
  // main.go pickupRouteByCondition: gjson on the node's input, first Exists() wins; none → 404.
  const success = await kserveGraph('switch-graph', { decision_picker: 'SUCCESS' });
  assert.equal(success.status, 200, success.text);
  assert.deepEqual(success.json, { predictions: [{ message: 'SUCCESS' }] });
  const none = await kserveGraph('switch-graph', { decision_picker: 'NEITHER' });
  assert.equal(none.status, 404, none.text);
  // KServe answers the step's own status and body (e2e scenario 4, case 1): so does Switchyard
  // here, where the model answers last and Envoy forwards its answer to the client as it is.
  const failing = await kserveGraph('switch-graph', { decision_picker: 'ERROR' });
  assert.equal(failing.status, 404, failing.text);
  assert.deepEqual(failing.json, { detail: 'Intentional 404 code' });
});

test('KServe Ensemble after a Switch (router test TestInferenceGraphWithCondition): answers keyed by step name', async () => {
  // main.go Ensemble: every step on the same input; {"<step name>": <answer>} with 200.
  const dog = await kserveGraph('animals', { instances: [{ modelId: '2' }] });
  assert.equal(dog.status, 200, dog.text);
  assert.deepEqual(dog.json, {
    model3: { predictions: [{ label: 'beagle', score: [0.1, 0.9] }] },
    model4: { predictions: [{ label: 'poodle', score: [0.8, 0.2] }] },
  });
  // The cat answer does not hold step2's condition: the sequence answers model1's answer.
  const cat = await kserveGraph('animals', { instances: [{ modelId: '1' }] });
  assert.equal(cat.status, 200, cat.text);
  assert.deepEqual(cat.json, { predictions: [{ label: 'cat', score: [0.1, 0.9] }] });
});

test('KServe Splitter: weights are percentages (20/80)', async () => {
  const answers = await Promise.all(
    Array.from({ length: 40 }, () => kserveGraph('splitter-model', { instances: [[1]] })),
  );
  const counts = { sklearn: 0, xgboost: 0 };
  for (const reply of answers) {
    assert.equal(reply.status, 200, reply.text);
    const [prediction] = (reply.json as { predictions: number[] }).predictions;
    if (prediction === 1) counts.sklearn++;
    else if (prediction === 2) counts.xgboost++;
    else assert.fail(reply.text);
  }
  // 40 draws at 80%: fewer than 21 for xgboost-iris happens about once in 100,000 runs.
  assert.ok(counts.xgboost > 20 && counts.sklearn > 0, JSON.stringify(counts));
});

test("Seldon single model, transformer + model, router, combiner: the executor's walk", async () => {
  // predictor_process.go Predict: transformInput (MODEL predicts, TRANSFORMER transforms), then
  // children (ROUTER: the child route names, else all), aggregate (COMBINER, else the first).
  const single = await seldonGraph('seldon-single', [[1, 2, 3]]);
  assert.equal(single.status, 200, single.text);
  assert.deepEqual(ndarrayOf(single), [6]);
  const transformed = await seldonGraph('seldon-transformer', [[1, 2, 3]]);
  assert.equal(transformed.status, 200, transformed.text);
  assert.deepEqual(ndarrayOf(transformed), [9]);
  const low = await seldonGraph('seldon-router', [[1, 2, 3]]);
  assert.equal(low.status, 200, low.text);
  assert.deepEqual(ndarrayOf(low), [6]);
  assert.deepEqual((low.json as { meta: { routing: unknown } }).meta.routing, { 'eg-router': 0 });
  const high = await seldonGraph('seldon-router', [[20, 1, 1]]);
  assert.deepEqual(ndarrayOf(high), [220]);
  assert.deepEqual((high.json as { meta: { routing: unknown } }).meta.routing, { 'eg-router': 1 });
  const combined = await seldonGraph('seldon-combiner', [[1, 2, 3]]);
  assert.equal(combined.status, 200, combined.text);
  assert.deepEqual(ndarrayOf(combined), [33]);
});

test('Seldon A/B traffic (75/25) and a shadow predictor that never answers', async () => {
  const answers = await Promise.all(
    Array.from({ length: 40 }, () => seldonGraph('seldon-ab', [[1, 2, 3]])),
  );
  const main = answers.filter((reply) => JSON.stringify(ndarrayOf(reply)) === '[6]').length;
  const canary = answers.filter((reply) => JSON.stringify(ndarrayOf(reply)) === '[60]').length;
  assert.equal(main + canary, 40);
  // 40 draws at 75%: fewer than 20 for the main predictor happens about once in 10,000 runs.
  assert.ok(main >= 20 && canary > 0, JSON.stringify({ main, canary }));
  // The shadow's answer (ModelB, 60) is never the client's.
  for (let i = 0; i < 5; i++) {
    const shadowed = await seldonGraph('seldon-shadow', [[1, 2, 3]]);
    assert.equal(shadowed.status, 200, shadowed.text);
    assert.deepEqual(ndarrayOf(shadowed), [6]);
  }
});
