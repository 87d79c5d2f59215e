import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { decodeBinaryTensors } from '../../src/protocols/binary-tensors.ts';
import type { Json } from '../../src/protocols/json.ts';
import { post, waitFor } from '../support/http.ts';
import {
  kserveProtocolModels,
  mlserverColumnsRuntime,
  mlserverStackRuntime,
  mlserverSumRuntime,
  seldonLearningUnit,
  startKserveServer,
  startMlserver,
  startSeldonMicroservice,
  type PythonModelServer,
} from '../support/python-servers.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Payloads through a real Envoy and the real executor to the model servers
 * users come from (kserve 0.21, MLServer 1.7, seldon-core 1.18, from PyPI):
 * binary tensors end to end, MLServer as a combiner fed an inference request,
 * datatypes through every built-in combiner, a Seldon → V2 hop, Seldon column
 * names, Seldon feedback reaching a router, and each node kind's body as a
 * stock server of its protocol takes it (docs/protocols.md). One set of
 * servers serves every test of the file.
 */

function graph(name: string, protocol: string, entry: string, nodes: string, extra = ''): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: ${entry}
  protocol: ${protocol}
${extra}  nodes:
${nodes}`;
}

/** A body of `header` (JSON) and binary tensor bytes after it, as Triton's and KServe's clients send it. */
function binaryRequest(
  header: Json,
  tail: Buffer,
): { body: Buffer; headers: Record<string, string> } {
  const text = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([text, tail]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(text.length),
    },
  };
}

interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

async function send(url: string, body: Buffer, headers: Record<string, string>): Promise<RawReply> {
  const response = await request(url, { method: 'POST', body, headers });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: Buffer.from(await response.body.arrayBuffer()),
  };
}

/** An answer's JSON, its binary tensors read; and whether it had any. */
function readAnswer(reply: RawReply): { json: Json; binary: boolean } {
  const length = reply.headers['inference-header-content-length'];
  if (length === undefined)
    return { json: JSON.parse(reply.body.toString()) as Json, binary: false };
  const at = Number(length);
  const decoded = decodeBinaryTensors(
    JSON.parse(reply.body.subarray(0, at).toString()) as Json,
    reply.body.subarray(at),
  );
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  return { json: decoded.value, binary: true };
}

const fp32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

type V2Answer = {
  model_name?: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: Json[] }[];
};

describe('payloads through Envoy and the executor to kserve, MLServer and seldon-core', () => {
  let kserve: PythonModelServer;
  let mlserver: PythonModelServer;
  let seldonModel: PythonModelServer;
  let seldonUnit: PythonModelServer;
  let stack: Stack;
  const servers = () => [kserve, mlserver, seldonModel, seldonUnit];

  before(async () => {
    [kserve, mlserver, seldonModel, seldonUnit] = await Promise.all([
      startKserveServer({ source: kserveProtocolModels, models: ['sum', 'scale', 'double'] }),
      startMlserver({
        models: [
          {
            name: 'sum',
            module: 'sum_runtime',
            source: mlserverSumRuntime,
            implementation: 'sum_runtime.SumRuntime',
          },
          {
            name: 'stack',
            module: 'stack_runtime',
            source: mlserverStackRuntime,
            implementation: 'stack_runtime.StackRuntime',
          },
          {
            name: 'columns',
            module: 'columns_runtime',
            source: mlserverColumnsRuntime,
            implementation: 'columns_runtime.ColumnsRuntime',
          },
        ],
      }),
      startSeldonMicroservice(),
      // What the Seldon operator sets for a unit, and Switchyard's docs tell users to set:
      // the node's name, under which the unit finds its routing in feedback.
      startSeldonMicroservice({
        className: 'Unit',
        source: seldonLearningUnit,
        serviceType: 'ROUTER',
        env: { PREDICTIVE_UNIT_ID: 'pick' },
      }),
    ]);
    const at = (server: PythonModelServer) =>
      `endpoint: { addresses: ["127.0.0.1:${String(server.port)}"] }`;
    const double = (name: string, rest = '') =>
      `    ${name}: { kind: model, model: double, ${at(kserve)}${rest} }\n`;
    const files: Record<string, string> = {
      // Envoy alone: a graph of one model.
      'native.yaml': graph('native', 'v2', 'd', double('d')),
      'binary-seq.yaml': graph(
        'binary-seq',
        'v2',
        'seq',
        `    seq: { kind: sequence, steps: [{ node: d1 }, { node: d2 }] }\n` +
          double('d1') +
          double('d2'),
      ),
      'switch-binary.yaml': graph(
        'switch-binary',
        'v2',
        'sw',
        `    sw: { kind: switch, cases: [{ when: { body: "$.parameters.tier", equals: gold }, to: gold }], default: plain }\n` +
          double('gold') +
          double('plain'),
      ),
      'ml-binary.yaml': graph(
        'ml-binary',
        'v2',
        'm',
        `    m: { kind: model, model: sum, binaryTensors: false, ${at(mlserver)} }\n`,
      ),
      'ml-combiner.yaml': graph(
        'ml-combiner',
        'v2',
        'all',
        `    all: { kind: ensemble, children: [d, s], combiner: stack }
    s: { kind: model, model: sum, binaryTensors: false, ${at(mlserver)} }
    stack: { kind: combiner, model: stack, combinerInput: inference-request, binaryTensors: false, ${at(mlserver)} }
` + double('d'),
      ),
      'v1-kinds.yaml': graph(
        'v1-kinds',
        'v1',
        'post',
        `    post: { kind: output-transformer, model: sum, to: pre, ${at(kserve)} }
    pre: { kind: transformer, model: scale, to: m, ${at(kserve)} }
    m: { kind: model, model: scale, ${at(kserve)} }
`,
      ),
      'v2-post.yaml': graph(
        'v2-post',
        'v2',
        'post',
        `    post: { kind: output-transformer, model: double, to: m, ${at(kserve)} }\n` +
          double('m'),
      ),
      'seldon-to-v2.yaml': graph(
        'seldon-to-v2',
        'seldon',
        'seq',
        `    seq: { kind: sequence, steps: [{ node: rows }, { node: dbl }] }
    rows: { kind: model, ${at(seldonModel)} }
    dbl: { kind: model, model: double, protocol: v2, ${at(kserve)} }
`,
        '  host: seq.seldon.test\n  returnOutputs: [dbl]\n',
      ),
      'seldon-columns.yaml': graph(
        'seldon-columns',
        'seldon',
        'cols',
        `    cols: { kind: model, model: columns, protocol: v2, ${at(mlserver)} }\n`,
        '  host: columns.seldon.test\n',
      ),
      'seldon-route.yaml': graph(
        'seldon-route',
        'seldon',
        'pick',
        `    pick: { kind: router, children: [a, b], ${at(seldonUnit)} }
    a: { kind: model, ${at(seldonModel)} }
    b: { kind: model, ${at(seldonModel)} }
`,
        '  host: route.seldon.test\n',
      ),
      'seldon-combine.yaml': graph(
        'seldon-combine',
        'seldon',
        'all',
        `    all: { kind: ensemble, children: [a, b], combiner: avg }
    avg: { kind: combiner, ${at(seldonUnit)} }
    a: { kind: model, ${at(seldonModel)} }
    b: { kind: model, ${at(seldonModel)} }
`,
        '  host: combine.seldon.test\n',
      ),
    };
    for (const combine of ['mean', 'vote', 'concat', 'merge', 'first-success']) {
      files[`dt-${combine}.yaml`] = graph(
        `dt-${combine}`,
        'v2',
        'all',
        `    all: { kind: ensemble, children: [a, b], combine: ${combine} }\n` +
          double('a') +
          double('b'),
      );
    }
    stack = await startStack('real-servers', files);
    await waitFor(
      'every graph to answer',
      async () => {
        try {
          const replies = await Promise.all(
            Object.keys(files)
              .filter((file) => !file.startsWith('seldon'))
              .map((file) => file.replace(/\.yaml$/, ''))
              .map((name) =>
                request(`${stack.base}/v2/models/${name}/ready`).then(async (r) => {
                  await r.body.text();
                  return name === 'v1-kinds' || r.statusCode === 200;
                }),
              ),
          );
          const v1 = await post(`${stack.base}/v1/models/v1-kinds:predict`, { instances: [[1]] });
          return replies.every(Boolean) && v1.status === 200;
        } catch {
          return false;
        }
      },
      60_000,
    );
  });

  after(async () => {
    await stack.stop();
    await Promise.all(servers().map((server) => server.stop()));
  });

  /** A failing test shows what the servers said. */
  async function withOutput(check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      const logs = servers()
        .map((server) => `--- ${server.server}:\n${server.output().slice(-3000)}`)
        .join('\n');
      throw new Error(`${(error as Error).message}\n${logs}`);
    }
  }

  const v2Url = (name: string) => `${stack.base}/v2/models/${name}/infer`;

  test('binary tensors through Envoy alone to kserve, and back binary when asked', () =>
    withOutput(async () => {
      const { body, headers } = binaryRequest(
        {
          id: 'n1',
          inputs: [
            { name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
          ],
          parameters: { binary_data_output: true },
        },
        fp32([1.5, 2]),
      );
      const reply = await send(v2Url('native'), body, headers);
      assert.equal(reply.status, 200, reply.body.toString());
      const answer = readAnswer(reply);
      assert.equal(answer.binary, true);
      assert.deepEqual((answer.json as V2Answer).outputs, [
        { name: 'y', shape: [2], datatype: 'FP32', data: [3, 4] },
      ]);
    }));

  test('binary tensors hop to hop through the executor to kserve: binary answers when asked, JSON otherwise', () =>
    withOutput(async () => {
      const header = {
        id: 'b1',
        inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }],
      };
      const json = readAnswer(
        await send(
          v2Url('binary-seq'),
          ...(Object.values(binaryRequest(header, fp32([1.5, 2]))) as [
            Buffer,
            Record<string, string>,
          ]),
        ),
      );
      assert.equal(json.binary, false);
      assert.deepEqual(json.json, {
        model_name: 'double',
        model_version: null,
        id: 'b1',
        parameters: null,
        outputs: [{ name: 'y', shape: [2], datatype: 'FP32', parameters: null, data: [6, 8] }],
      });
      const asking = binaryRequest(
        { ...header, parameters: { binary_data_output: true } },
        fp32([1.5, 2]),
      );
      const reply = await send(v2Url('binary-seq'), asking.body, asking.headers);
      assert.equal(reply.status, 200, reply.body.toString());
      assert.equal(reply.headers['content-type'], 'application/octet-stream');
      const binary = readAnswer(reply);
      assert.equal(binary.binary, true);
      assert.deepEqual((binary.json as V2Answer).outputs, [
        { name: 'y', shape: [2], datatype: 'FP32', data: [6, 8] },
      ]);
    }));

  test('a switch on the body Envoy runs: a binary request is the executor’s, which reads its JSON part', () =>
    withOutput(async () => {
      const { body, headers } = binaryRequest(
        {
          inputs: [
            { name: 'x', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } },
          ],
          parameters: { tier: 'gold' },
        },
        fp32([3]),
      );
      const binary = await send(v2Url('switch-binary'), body, headers);
      assert.equal(binary.status, 200, binary.body.toString());
      assert.equal(binary.headers['x-switchyard-routing'], 'sw=gold');
      assert.deepEqual((readAnswer(binary).json as V2Answer).outputs[0]?.data, [6]);
      const json = await post(v2Url('switch-binary'), {
        inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [3] }],
        parameters: { tier: 'gold' },
      });
      assert.equal(json.status, 200, json.text);
      assert.equal(json.headers['x-switchyard-routing'], undefined, 'Envoy routed it alone');
      assert.deepEqual((json.json as V2Answer).outputs[0]?.data, [6]);
    }));

  test('binary tensors to MLServer, which takes none (binaryTensors: false): sent as JSON, answered binary when asked', () =>
    withOutput(async () => {
      const { body, headers } = binaryRequest(
        {
          id: 'm1',
          inputs: [
            { name: 'x', shape: [3], datatype: 'FP32', parameters: { binary_data_size: 12 } },
          ],
          outputs: [{ name: 'sum', parameters: { binary_data: true } }],
        },
        fp32([1, 2, 3.5]),
      );
      const reply = await send(v2Url('ml-binary'), body, headers);
      assert.equal(reply.status, 200, reply.body.toString());
      const answer = readAnswer(reply);
      assert.equal(answer.binary, true);
      const outputs = (answer.json as V2Answer).outputs;
      assert.deepEqual(
        outputs.map((o) => [o.name, o.datatype, o.data]),
        [['sum', 'FP64', [6.5]]],
      );
    }));

  test('MLServer as a combiner: the children’s outputs arrive as inputs "<child>.<output>"', () =>
    withOutput(async () => {
      const { body, headers } = binaryRequest(
        {
          id: 'c1',
          inputs: [
            { name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
          ],
          parameters: { binary_data_output: true },
        },
        fp32([1, 2]),
      );
      const reply = await send(v2Url('ml-combiner'), body, headers);
      assert.equal(reply.status, 200, reply.body.toString());
      const answer = readAnswer(reply);
      assert.equal(answer.binary, true, 'the client asked for binary outputs');
      const combined = answer.json as V2Answer;
      assert.equal(combined.model_name, 'stack');
      assert.equal(combined.id, 'c1', 'the request’s id reached the combiner and came back');
      const byName = new Map(combined.outputs.map((o) => [o.name, o.data]));
      // d doubles [1, 2] to [2, 4]; s sums [1, 2] to 3; the total is 9.
      assert.deepEqual(byName.get('total'), [9]);
      assert.deepEqual(byName.get('inputs'), ['d.y,s.sum']);
    }));

  test('every built-in combiner keeps the datatype; the answer is the graph’s, with the request’s id', () =>
    withOutput(async () => {
      const request = (datatype: string) => ({
        id: `dt-${datatype}`,
        inputs: [{ name: 'x', shape: [2], datatype, data: [1, 2] }],
      });
      const expected: Record<string, (datatype: string) => Json> = {
        mean: (datatype) => ({
          model_name: 'dt-mean',
          id: `dt-${datatype}`,
          outputs: [
            {
              name: 'y',
              shape: [2],
              datatype: datatype === 'INT32' ? 'FP64' : datatype,
              parameters: null,
              data: [2, 4],
            },
          ],
        }),
        vote: (datatype) => ({
          model_name: 'dt-vote',
          id: `dt-${datatype}`,
          outputs: [{ name: 'y', shape: [2], datatype, parameters: null, data: [2, 4] }],
        }),
        concat: (datatype) => ({
          model_name: 'dt-concat',
          id: `dt-${datatype}`,
          outputs: ['a.y', 'b.y'].map((name) => ({
            name,
            shape: [2],
            datatype,
            parameters: null,
            data: [2, 4],
          })),
        }),
      };
      for (const datatype of ['FP32', 'INT32', 'FP64']) {
        for (const [combine, answer] of Object.entries(expected)) {
          const reply = await post(v2Url(`dt-${combine}`), request(datatype));
          assert.equal(reply.status, 200, reply.text);
          assert.deepEqual(reply.json, answer(datatype), `${combine} of ${datatype}`);
        }
        const merged = await post(v2Url('dt-merge'), request(datatype));
        const children = merged.json as Record<string, V2Answer>;
        assert.deepEqual(Object.keys(children), ['a', 'b']);
        assert.equal(children.a?.outputs[0]?.datatype, datatype, 'merge keeps each answer whole');
        const first = await post(v2Url('dt-first-success'), request(datatype));
        assert.equal((first.json as V2Answer).outputs[0]?.datatype, datatype);
        assert.equal((first.json as V2Answer).id, `dt-${datatype}`, 'kserve echoed the id');
      }
    }));

  test('a stock KServe V1 server as transformer and output transformer: instances in, predictions out', () =>
    withOutput(async () => {
      // scale ×10 as the transformer (its predictions chained into instances), scale ×10 as the
      // model, and sum as the output transformer, which takes the model's predictions as instances.
      const reply = await post(`${stack.base}/v1/models/v1-kinds:predict`, {
        instances: [
          [1, 2],
          [3, 4],
        ],
      });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.json, { predictions: [300, 700] });
    }));

  test('a stock V2 server as output transformer takes its child’s outputs as inputs', () =>
    withOutput(async () => {
      const reply = await post(v2Url('v2-post'), {
        id: 'p1',
        inputs: [{ name: 'x', shape: [2], datatype: 'INT32', data: [1, 2] }],
      });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual((reply.json as V2Answer).outputs[0]?.data, [4, 8]);
      assert.equal((reply.json as V2Answer).outputs[0]?.datatype, 'INT32');
      assert.equal((reply.json as V2Answer).id, 'p1');
    }));

  test('a seldon-core model, then a V2 model: Seldon’s numbers reach it as FP64', () =>
    withOutput(async () => {
      const reply = await post(
        `${stack.base}/api/v1.0/predictions`,
        {
          data: {
            ndarray: [
              [1, 2, 3],
              [4, 5, 6.5],
            ],
          },
        },
        { host: 'seq.seldon.test' },
      );
      assert.equal(reply.status, 200, reply.text);
      const body = reply.json as {
        data: { ndarray: number[] };
        intermediate_outputs: { dbl: V2Answer };
      };
      assert.deepEqual(body.data.ndarray, [12, 31]);
      assert.equal(body.intermediate_outputs.dbl.outputs[0]?.datatype, 'FP64');
    }));

  test('Seldon column names are V2 tensor names both ways (MLServer’s table of columns)', () =>
    withOutput(async () => {
      const reply = await post(
        `${stack.base}/api/v1.0/predictions`,
        {
          data: {
            names: ['height', 'weight'],
            ndarray: [
              [1, 10],
              [2, 20],
            ],
          },
        },
        { host: 'columns.seldon.test' },
      );
      assert.equal(reply.status, 200, reply.text);
      const data = (reply.json as { data: { names: string[]; ndarray: number[][] } }).data;
      assert.deepEqual(data, {
        names: ['height', 'weight'],
        ndarray: [
          [2, 20],
          [4, 40],
        ],
      });
    }));

  test('a Seldon router learns its routing from feedback, under the PREDICTIVE_UNIT_ID it is given', () =>
    withOutput(async () => {
      const predict = () =>
        post(
          `${stack.base}/api/v1.0/predictions`,
          { data: { ndarray: [[1, 2]] } },
          { host: 'route.seldon.test' },
        );
      const first = await predict();
      assert.equal(first.status, 200, first.text);
      const meta = (first.json as { meta: { routing: Record<string, number> } }).meta;
      assert.deepEqual(meta.routing, { pick: 1 });
      const feedback = await post(
        `${stack.base}/api/v1.0/feedback`,
        { request: { data: { ndarray: [[1, 2]] } }, response: first.json, reward: 1 },
        { host: 'route.seldon.test' },
      );
      assert.equal(feedback.status, 200, feedback.text);
      const second = await predict();
      assert.deepEqual(
        (second.json as { meta: { routing: Record<string, number> } }).meta.routing,
        { pick: 0 },
        'the router read routing 1 for "pick" in the feedback and switched',
      );
    }));

  test('a seldon-core combiner gets the children’s messages as they are: no tag of Switchyard’s in meta', () =>
    withOutput(async () => {
      const reply = await post(
        `${stack.base}/api/v1.0/predictions`,
        { data: { ndarray: [[1, 2]] } },
        { host: 'combine.seldon.test' },
      );
      assert.equal(reply.status, 200, reply.text);
      const body = reply.json as {
        data: { ndarray: number[] };
        meta: { tags: Record<string, Json> };
      };
      assert.deepEqual(body.data.ndarray, [3]);
      assert.equal('child' in body.meta.tags, false, JSON.stringify(body.meta));
    }));
});
