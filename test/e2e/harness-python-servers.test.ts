import assert from 'node:assert/strict';
import { test } from 'node:test';
import { post } from '../support/http.ts';
import {
  startKserveServer,
  startMlserver,
  startSeldonMicroservice,
  type PythonModelServer,
} from '../support/python-servers.ts';

async function withServer(
  start: () => Promise<PythonModelServer>,
  use: (server: PythonModelServer) => Promise<void>,
): Promise<void> {
  const server = await start();
  try {
    await use(server);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n${server.server} output:\n${server.output().slice(-4000)}`,
    );
  } finally {
    await server.stop();
  }
}

test('kserve 0.21 ModelServer answers a V1 predict from a Python model class', async () => {
  await withServer(startKserveServer, async (kserve) => {
    const reply = await post(`${kserve.base}/v1/models/sum:predict`, {
      instances: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, { predictions: [6, 9] });
  });
});

test('MLServer 1.7 answers an Open Inference Protocol request through a custom runtime', async () => {
  await withServer(startMlserver, async (mlserver) => {
    const reply = await post(`${mlserver.base}/v2/models/sum/infer`, {
      id: 'harness-1',
      inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 3.5] }],
    });
    assert.equal(reply.status, 200, reply.text);
    const answer = reply.json as {
      id: string;
      model_name: string;
      outputs: { name: string; data: number[] }[];
    };
    assert.equal(answer.model_name, 'sum');
    assert.equal(answer.id, 'harness-1');
    assert.deepEqual(
      answer.outputs.map((output) => [output.name, output.data]),
      [['sum', [6.5]]],
    );
  });
});

test('a seldon-core 1.18 microservice answers a Seldon prediction from a Python class', async () => {
  await withServer(startSeldonMicroservice, async (seldon) => {
    const reply = await post(`${seldon.base}/api/v1.0/predictions`, {
      data: {
        ndarray: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual((reply.json as { data: { ndarray: unknown } }).data.ndarray, [6, 15]);
  });
});
