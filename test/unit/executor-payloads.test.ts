import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runGraph, type GraphResult } from '../../src/executor/interpreter/graph-run.ts';
import type { HopAnswer, Hops } from '../../src/executor/interpreter/hops.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { executionPlan } from '../../src/plan/execution-plan.ts';
import { decodeBinaryTensors } from '../../src/protocols/binary-tensors.ts';
import type { Json } from '../../src/protocols/json.ts';

/**
 * What the interpreter does with payloads, hop by hop, with hops answered
 * from memory: binary tensors carried and written, each node kind's body
 * per protocol. The same paths run end to end against real servers in
 * test/e2e/protocols-real-servers.test.ts.
 */

interface SeenCall {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

type Handler = (body: Buffer, headers: Record<string, string>) => HopAnswer;

function memoryHops(handlers: Record<string, Handler>): { hops: Hops; seen: SeenCall[] } {
  const seen: SeenCall[] = [];
  return {
    seen,
    hops: {
      call: (path, body, headers) => {
        seen.push({ path, headers, body });
        const handler = handlers[path];
        if (!handler) return Promise.reject(new Error(`no hop ${path}`));
        return Promise.resolve(handler(body, headers));
      },
    },
  };
}

function jsonAnswer(value: Json): HopAnswer {
  return {
    status: 200,
    headers: new Map([['content-type', 'application/json']]),
    body: Buffer.from(JSON.stringify(value)),
  };
}

function binaryBody(header: Json, tail: Buffer): { body: Buffer; headerLength: number } {
  const text = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([text, tail]), headerLength: text.length };
}

function binaryAnswer(header: Json, tail: Buffer): HopAnswer {
  const { body, headerLength } = binaryBody(header, tail);
  return {
    status: 200,
    headers: new Map([['inference-header-content-length', String(headerLength)]]),
    body,
  };
}

/** The JSON of a body, its binary tensors read (when inference-header-content-length says so). */
function read(body: Buffer, headerLength?: string): Json {
  if (headerLength === undefined) return JSON.parse(body.toString('utf8')) as Json;
  const length = Number(headerLength);
  const decoded = decodeBinaryTensors(
    JSON.parse(body.subarray(0, length).toString('utf8')) as Json,
    body.subarray(length),
  );
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  return decoded.value;
}

function planOf(yaml: string) {
  const { graphs, diagnostics } = loadGraphDocuments('g.yaml', yaml);
  assert.deepEqual(diagnostics, []);
  const [graph] = graphs;
  assert.ok(graph);
  return executionPlan(graph, graph.entry);
}

function graph(protocol: string, entry: string, nodes: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: g }
spec:
  entry: ${entry}
  protocol: ${protocol}
  nodes:
${nodes}`;
}

const at = 'endpoint: { addresses: ["127.0.0.1:9000"] }';

async function run(
  yaml: string,
  hops: Hops,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<GraphResult> {
  return runGraph(
    planOf(yaml),
    {
      headers: new Map(Object.entries({ 'content-type': 'application/json', ...headers })),
      query: new URLSearchParams(),
      body,
      contentType: headers['content-type'] ?? 'application/json',
    },
    { hops, random: () => 0.5, newId: () => 'puid' },
  );
}

function answered(result: GraphResult): {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
} {
  assert.equal(result.kind, 'answer');
  return { status: result.status, headers: new Map(result.headers), body: result.body };
}

const fp32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

test('V2 binary tensors: a sequence keeps them binary hop to hop, and writes what the client asked', async () => {
  const double: Handler = (body, headers) => {
    const request = read(body, headers['inference-header-content-length']) as {
      inputs: { data: number[]; shape: number[] }[];
    };
    const input = request.inputs[0];
    assert.ok(input);
    return binaryAnswer(
      {
        model_name: 'double',
        outputs: [
          { name: 'y', shape: input.shape, datatype: 'FP32', parameters: { binary_data_size: 8 } },
        ],
      },
      fp32(input.data.map((n) => n * 2)),
    );
  };
  const { hops, seen } = memoryHops({ '/default/g/a': double, '/default/g/b': double });
  const yaml = graph(
    'v2',
    'seq',
    `    seq: { kind: sequence, steps: [{ node: a }, { node: b }] }
    a: { kind: model, ${at} }
    b: { kind: model, ${at} }
`,
  );
  const request = binaryBody(
    {
      id: 'r1',
      inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }],
    },
    fp32([1, 2]),
  );
  const headers = {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(request.headerLength),
  };
  // The last step may stream from the model: it gets the chained request, its tensor still binary.
  const handoff = await run(yaml, hops, request.body, headers);
  assert.equal(handoff.kind, 'handoff');
  assert.deepEqual(seen[0]?.body, request.body, 'the first step got the client’s bytes');
  assert.equal(handoff.contentType, 'application/octet-stream');
  const chained = handoff.headerLength;
  assert.ok(chained !== undefined);
  assert.deepEqual(JSON.parse(handoff.body.subarray(0, chained).toString()), {
    inputs: [{ name: 'y', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }],
  });
  assert.deepEqual(handoff.body.subarray(chained), fp32([2, 4]));

  const asking = binaryBody(
    {
      inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }],
      parameters: { binary_data_output: true },
    },
    Buffer.alloc(0),
  );
  const binary = answered(await run(yaml, hops, asking.body));
  assert.equal(seen.length, 3, 'asked for binary outputs, the executor calls the last step itself');
  assert.equal(seen[2]?.headers['inference-header-content-length'] !== undefined, true);
  const length = binary.headers.get('inference-header-content-length');
  assert.ok(length !== undefined, 'asked for binary outputs, it gets them');
  assert.equal(binary.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual(binary.body.subarray(Number(length)), fp32([4, 8]));
});

test('a node that takes no binary tensors gets them as JSON; a client asking binary gets binary', async () => {
  const { hops, seen } = memoryHops({
    '/default/g/m': (body, headers) => {
      assert.equal(headers['inference-header-content-length'], undefined);
      const request = JSON.parse(body.toString()) as { inputs: { data: number[] }[] };
      return jsonAnswer({
        outputs: [
          {
            name: 'sum',
            shape: [1],
            datatype: 'FP64',
            data: [request.inputs[0]?.data.reduce((a, b) => a + b, 0) ?? 0],
          },
        ],
      });
    },
  });
  const yaml = graph('v2', 'm', `    m: { kind: model, binaryTensors: false, ${at} }\n`);
  const request = binaryBody(
    {
      inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }],
      parameters: { binary_data_output: true },
    },
    fp32([1.5, 2]),
  );
  const result = answered(
    await run(yaml, hops, request.body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(request.headerLength),
    }),
  );
  assert.deepEqual(JSON.parse(seen[0]?.body.toString() ?? ''), {
    inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1.5, 2] }],
    parameters: { binary_data_output: true },
  });
  const length = result.headers.get('inference-header-content-length');
  assert.ok(length !== undefined);
  assert.deepEqual(read(result.body, length), {
    outputs: [{ name: 'sum', shape: [1], datatype: 'FP64', data: [3.5] }],
  });
});

test('a hand-off takes the client’s binary request as it is; the executor answers itself when it must write binary', async () => {
  const { hops } = memoryHops({
    '/default/g/pre': (body) => jsonAnswer(JSON.parse(body.toString()) as Json),
    '/default/g/m': () =>
      jsonAnswer({ outputs: [{ name: 'y', shape: [1], datatype: 'INT32', data: [7] }] }),
  });
  const handing = graph('v2', 'm', `    m: { kind: model, ${at} }\n`);
  const plan = planOf(handing);
  assert.equal(plan.nodes.m?.kind === 'model' && plan.nodes.m.handoff !== undefined, true);
  const request = binaryBody(
    { inputs: [{ name: 'x', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } }] },
    Buffer.from([7, 0, 0, 0]),
  );
  const headers = {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(request.headerLength),
  };
  const handoff = await run(handing, hops, request.body, headers);
  assert.equal(handoff.kind, 'handoff');
  assert.equal(handoff.headerLength, request.headerLength);
  assert.equal(handoff.body, request.body, 'the very bytes');

  // After a transformer, the model gets another request than the client's: with binary outputs
  // asked, the executor calls the model and writes them.
  const transformed = graph(
    'v2',
    'pre',
    `    pre: { kind: transformer, to: m, ${at} }
    m: { kind: model, ${at} }
`,
  );
  const asking = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [7] }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    }),
  );
  const result = answered(await run(transformed, hops, asking));
  const length = result.headers.get('inference-header-content-length');
  assert.ok(length !== undefined);
  assert.deepEqual(result.body.subarray(Number(length)), Buffer.from([7, 0, 0, 0]));
  const notAsking = await run(
    transformed,
    hops,
    Buffer.from(
      JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [7] }] }),
    ),
  );
  assert.equal(notAsking.kind, 'handoff', 'a JSON answer may stream from the model');
});

test('combining binary outputs: mean and concat read them, keep the datatype, answer as the graph', async () => {
  const child =
    (values: number[]): Handler =>
    () =>
      binaryAnswer(
        {
          model_name: 'child',
          outputs: [
            { name: 'y', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
          ],
        },
        fp32(values),
      );
  const { hops } = memoryHops({ '/default/g/a': child([1, 2]), '/default/g/b': child([2, 3]) });
  const request = Buffer.from(
    JSON.stringify({ id: 'r7', inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [0] }] }),
  );
  for (const [combine, outputs] of [
    ['mean', [{ name: 'y', shape: [2], datatype: 'FP32', data: [1.5, 2.5] }]],
    [
      'concat',
      [
        { name: 'a.y', shape: [2], datatype: 'FP32', data: [1, 2] },
        { name: 'b.y', shape: [2], datatype: 'FP32', data: [2, 3] },
      ],
    ],
    ['vote', [{ name: 'y', shape: [2], datatype: 'FP32', data: [1, 2] }]],
  ] as const) {
    const yaml = graph(
      'v2',
      'all',
      `    all: { kind: ensemble, children: [a, b], combine: ${combine} }
    a: { kind: model, ${at} }
    b: { kind: model, ${at} }
`,
    );
    const result = answered(await run(yaml, hops, request));
    assert.equal(result.status, 200, result.body.toString());
    assert.deepEqual(
      JSON.parse(result.body.toString()),
      { model_name: 'g', id: 'r7', outputs },
      combine,
    );
  }
});

test('a combiner in inference-request mode gets the children’s outputs as inputs, binary kept', async () => {
  const { hops, seen } = memoryHops({
    '/default/g/a': () =>
      binaryAnswer(
        {
          outputs: [
            { name: 'y', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } },
          ],
        },
        fp32([1]),
      ),
    '/default/g/b': () =>
      jsonAnswer({ outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [2] }] }),
    '/default/g/comb': () =>
      jsonAnswer({
        model_name: 'comb',
        outputs: [{ name: 'z', shape: [1], datatype: 'FP64', data: [3] }],
      }),
  });
  const yaml = graph(
    'v2',
    'all',
    `    all: { kind: ensemble, children: [a, b], combiner: comb }
    a: { kind: model, ${at} }
    b: { kind: model, ${at} }
    comb: { kind: combiner, combinerInput: inference-request, ${at} }
`,
  );
  const result = answered(
    await run(
      yaml,
      hops,
      Buffer.from(
        JSON.stringify({
          id: 'q',
          inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [0] }],
        }),
      ),
    ),
  );
  assert.equal(result.status, 200, result.body.toString());
  const sent = seen.find((call) => call.path === '/default/g/comb');
  assert.ok(sent);
  assert.deepEqual(read(sent.body, sent.headers['inference-header-content-length']), {
    id: 'q',
    inputs: [
      { name: 'a.y', shape: [1], datatype: 'FP32', data: [1] },
      { name: 'b.y', shape: [1], datatype: 'FP64', data: [2] },
    ],
  });
  assert.ok(
    sent.headers['inference-header-content-length'] !== undefined,
    'a’s tensor went binary',
  );
});

test('each node kind’s body per protocol (docs/protocols.md): the cells that differ', async () => {
  const { hops, seen } = memoryHops({
    // A stock V1 server: instances in, predictions out, as model, transformer and output transformer.
    '/default/g/pre': (body) =>
      jsonAnswer({
        predictions: (JSON.parse(body.toString()) as { instances: number[] }).instances.map(
          (n) => n + 1,
        ),
      }),
    '/default/g/m': (body) =>
      jsonAnswer({
        predictions: (JSON.parse(body.toString()) as { instances: number[] }).instances.map(
          (n) => n * 10,
        ),
      }),
    '/default/g/post': (body) =>
      jsonAnswer({
        predictions: (JSON.parse(body.toString()) as { instances: number[] }).instances.map(
          (n) => -n,
        ),
      }),
  });
  const yaml = graph(
    'v1',
    'post',
    `    post: { kind: output-transformer, to: pre, ${at} }
    pre: { kind: transformer, to: m, ${at} }
    m: { kind: model, ${at} }
`,
  );
  const result = answered(
    await run(yaml, hops, Buffer.from(JSON.stringify({ instances: [1, 2] }))),
  );
  assert.deepEqual(JSON.parse(result.body.toString()), { predictions: [-20, -30] });
  assert.deepEqual(
    seen.map((call) => [call.path, JSON.parse(call.body.toString()) as Json]),
    [
      ['/default/g/pre', { instances: [1, 2] }],
      ['/default/g/m', { instances: [2, 3] }],
      ['/default/g/post', { instances: [20, 30] }],
    ],
  );
});
