import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { pythonServerPython, type PythonServer } from '../../scripts/setup/python-servers.ts';
import { freePort } from './ports.ts';
import { startServerProcess, waitFor, type ServerProcess } from './server-process.ts';

/** A real kserve, MLServer or seldon-core server from its cached venv, on loopback. */
export interface PythonModelServer {
  readonly server: PythonServer;
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Python servers import their models and frameworks (numpy, grpc) at start: slow under load. */
const readyTimeoutMs = 120_000;

async function isReady(url: string): Promise<true | undefined> {
  const response = await request(url);
  await response.body.text();
  return response.statusCode === 200 ? true : undefined;
}

async function startFromVenv(
  server: PythonServer,
  dir: string,
  args: readonly string[],
  port: number,
  readyPaths: readonly string[],
  env: Record<string, string> = {},
): Promise<PythonModelServer> {
  const python = await pythonServerPython(server);
  const base = `http://127.0.0.1:${String(port)}`;
  const child: ServerProcess = startServerProcess(server, python, args, {
    cwd: dir,
    env: {
      ...process.env,
      PYTHONPATH: dir,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...env,
    },
    group: true,
  });
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const path of readyPaths)
      await waitFor(`${server} at ${base}${path}`, () => isReady(`${base}${path}`), {
        timeoutMs: readyTimeoutMs,
        intervalMs: 250,
        processes: [child],
      });
  } catch (error) {
    await stop();
    throw error;
  }
  return { server, base, port, output: () => child.output(), stop };
}

/** A V1 model "sum": each instance (a list of numbers) becomes its sum. */
export const kserveSumModel = `
from kserve import Model


class Sum(Model):
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        return {"predictions": [sum(row) for row in payload["instances"]]}


def models():
    return [Sum("sum")]
`;

const launchers = join(import.meta.dirname, 'python');

/**
 * kserve's ModelServer (REST only) serving what `models()` in `source` (a Python module) returns;
 * ready once each of `models` is.
 */
export async function startKserveServer(
  options: { source?: string; models?: readonly string[] } = {},
): Promise<PythonModelServer> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-kserve-'));
  const port = await freePort();
  await writeFile(join(dir, 'test_models.py'), options.source ?? kserveSumModel);
  const names = options.models ?? ['sum'];
  return startFromVenv('kserve', dir, [join(launchers, 'kserve_serve.py'), String(port)], port, [
    '/v2/health/ready',
    ...names.map((name) => `/v1/models/${name}`),
  ]);
}

/** An MLServer custom runtime: the sum of the first input, as output "sum" (FP64). */
export const mlserverSumRuntime = `
import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class SumRuntime(MLModel):
    async def load(self):
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        values = NumpyCodec.decode_input(payload.inputs[0])
        total = np.array([float(values.sum())], dtype=np.float64)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[NumpyCodec.encode_output("sum", total)],
        )
`;

export interface MlserverModel {
  readonly name: string;
  /** The module's file name without .py, and its source (a custom runtime). */
  readonly module: string;
  readonly source: string;
  /** model-settings.json's implementation, e.g. "sum_runtime.SumRuntime". */
  readonly implementation: string;
  /** More of model-settings.json (parameters, ...). */
  readonly settings?: Record<string, unknown>;
}

/**
 * MLServer on a model repository of custom runtimes (default: "sum"), with every server
 * (REST, gRPC, metrics) on loopback and inference in the main process.
 */
export async function startMlserver(
  options: { models?: readonly MlserverModel[] } = {},
): Promise<PythonModelServer> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-mlserver-'));
  const [port, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const models = options.models ?? [
    {
      name: 'sum',
      module: 'sum_runtime',
      source: mlserverSumRuntime,
      implementation: 'sum_runtime.SumRuntime',
    },
  ];
  await writeFile(
    join(dir, 'settings.json'),
    JSON.stringify({
      host: '127.0.0.1',
      http_port: port,
      grpc_port: grpcPort,
      metrics_port: metricsPort,
      parallel_workers: 0,
    }),
  );
  for (const model of models) {
    await writeFile(join(dir, `${model.module}.py`), model.source);
    await mkdir(join(dir, model.name));
    await writeFile(
      join(dir, model.name, 'model-settings.json'),
      JSON.stringify({ name: model.name, implementation: model.implementation, ...model.settings }),
    );
  }
  return startFromVenv('mlserver', dir, ['-m', 'mlserver.cli.main', 'start', dir], port, [
    '/v2/health/ready',
    ...models.map((model) => `/v2/models/${model.name}/ready`),
  ]);
}

/** A Seldon MODEL: each row of the request's ndarray becomes its sum. */
export const seldonSumModel = `
class Sum:
    def predict(self, X, features_names=None):
        return X.sum(axis=1)
`;

/**
 * A seldon-core Python microservice: the class `className` of module `className` (its source
 * given), as `serviceType` (MODEL, ROUTER, COMBINER, TRANSFORMER, OUTPUT_TRANSFORMER), with
 * `parameters` as the operator passes them. REST, gRPC and metrics all on loopback.
 */
export async function startSeldonMicroservice(
  options: {
    className?: string;
    source?: string;
    serviceType?: 'MODEL' | 'ROUTER' | 'COMBINER' | 'TRANSFORMER' | 'OUTPUT_TRANSFORMER';
    parameters?: readonly { name: string; value: string; type: string }[];
    env?: Record<string, string>;
  } = {},
): Promise<PythonModelServer> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-seldon-'));
  const [port, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const className = options.className ?? 'Sum';
  await writeFile(join(dir, `${className}.py`), options.source ?? seldonSumModel);
  const args = [
    join(launchers, 'seldon_serve.py'),
    className,
    '--service-type',
    options.serviceType ?? 'MODEL',
    '--http-port',
    String(port),
    '--grpc-port',
    String(grpcPort),
    '--metrics-port',
    String(metricsPort),
    '--workers',
    '1',
    '--grpc-workers',
    '1',
    '--parameters',
    JSON.stringify(options.parameters ?? []),
  ];
  return startFromVenv('seldon-core', dir, args, port, ['/health/ping'], options.env);
}

/**
 * kserve models for the protocol tests: V1 "sum" (as kserveSumModel), V1 "scale" (every number
 * times ten, shape kept), and V2 "double" (its first input doubled, datatype kept; binary outputs
 * when asked, as kserve writes them).
 */
export const kserveProtocolModels = `
import uuid

from kserve import InferOutput, InferRequest, InferResponse, Model


class Sum(Model):
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        return {"predictions": [sum(row) for row in payload["instances"]]}


def _scaled(value):
    return [_scaled(v) for v in value] if isinstance(value, list) else value * 10


class Scale(Model):
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        return {"predictions": _scaled(payload["instances"])}


class Double(Model):
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload: InferRequest, headers=None):
        first = payload.inputs[0]
        values = first.as_numpy()
        output = InferOutput(name="y", shape=list(values.shape), datatype=first.datatype)
        output.set_data_from_numpy(values * 2)
        return InferResponse(
            response_id=payload.id or str(uuid.uuid4()),
            model_name=self.name,
            infer_outputs=[output],
            use_binary_outputs=payload.use_binary_outputs,
            requested_outputs=payload.request_outputs,
        )


def models():
    return [Sum("sum"), Scale("scale"), Double("double")]
`;

/** MLServer "stack": a combiner for any number of inputs, answering their total and their names. */
export const mlserverStackRuntime = `
import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec
from mlserver.types import InferenceRequest, InferenceResponse


class StackRuntime(MLModel):
    async def load(self):
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        total = sum(float(NumpyCodec.decode_input(i).sum()) for i in payload.inputs)
        names = ",".join(i.name for i in payload.inputs)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[
                NumpyCodec.encode_output("total", np.array([total], dtype=np.float64)),
                StringCodec.encode_output("inputs", [names]),
            ],
        )
`;

/**
 * MLServer "columns": a table of named columns in (its pandas codec decodes the request), every
 * column doubled out, one output per column as MLServer writes a DataFrame.
 */
export const mlserverColumnsRuntime = `
from mlserver import MLModel
from mlserver.codecs import PandasCodec
from mlserver.types import InferenceRequest, InferenceResponse


class ColumnsRuntime(MLModel):
    async def load(self):
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        frame = self.decode_request(payload, default_codec=PandasCodec)
        return PandasCodec.encode_response(self.name, frame * 2)
`;

/**
 * A Seldon ROUTER and COMBINER in one class: routes to child 1 until feedback tells it the
 * routing it took (from meta.routing[PREDICTIVE_UNIT_ID]), then to the other child; combines
 * by the element-wise mean.
 */
export const seldonLearningUnit = `
import numpy as np


class Unit:
    def __init__(self):
        self.next = 1

    def route(self, X, features_names=None):
        return self.next

    def send_feedback(self, features, feature_names, reward, truth, routing=None):
        if routing is not None:
            self.next = 0 if routing == 1 else 1
        return []

    def aggregate(self, Xs, features_names=None):
        return np.mean([np.asarray(x) for x in Xs], axis=0)
`;
