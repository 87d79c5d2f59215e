import { resolve } from 'node:path';
import { bootstrapConfig } from '../envoy/bootstrap.ts';
import { startExecutor } from '../executor/transport/server.ts';
import { DEFAULT_GROUP } from '../xds/cache.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { startSampleModel, type SampleModel } from '../samples/model-server.ts';
import { startControlPlane } from '../controller/control-plane.ts';
import { startEnvoyProcess } from '../runtime/envoy-process.ts';
import { log } from '../runtime/log.ts';
import { untilSignal } from '../runtime/until-signal.ts';
import { statusPageRoutes } from '../controller/status-page.ts';
import { startStatusServer } from '../controller/status-server.ts';

const ports = {
  listener: 10000,
  hops: 10001,
  admin: 9901,
  xds: 18000,
  status: 18001,
  executor: 18081,
};

/** The sample models the graphs of examples/ point at. */
const sampleModels = [
  { name: 'fraud-v1', port: 9101, version: 'v1' },
  { name: 'fraud-v2', port: 9102, version: 'v2', scale: 2 },
  { name: 'large', port: 9103, version: 'large' },
  { name: 'small', port: 9104, version: 'small' },
  { name: 'standard', port: 9105, version: 'standard' },
  { name: 'sentiment', port: 9106, version: 'live' },
  { name: 'sentiment', port: 9107, version: 'shadow' },
  { name: 'prepare', port: 9108, role: 'transformer', offset: 1 },
] as const;

const payload = `'{"inputs":[{"name":"x","shape":[4],"datatype":"FP32","data":[1,2,3,4]}]}'`;
const goldPayload = `'{"parameters":{"tier":"gold"},"inputs":[{"name":"x","shape":[4],"datatype":"FP32","data":[1,2,3,4]}]}'`;

function tryThis(): string {
  const base = `http://127.0.0.1:${String(ports.listener)}/v2/models`;
  const pick = `grep -o '"model_version":"[^"]*"'`;
  return [
    'Try it:',
    `  # one call through the 90/10 canary`,
    `  curl -s ${base}/fraud/infer -d ${payload}`,
    `  # 100 calls: about 90 answered by v1, 10 by v2`,
    `  for i in $(seq 100); do curl -s ${base}/fraud/infer -d ${payload} | ${pick}; done | sort | uniq -c`,
    `  # switch: gold customers (by header or by body) get the large model, ?variant=fast the small one`,
    `  curl -s -H 'x-tier: gold' ${base}/tiered/infer -d ${payload}`,
    `  curl -s ${base}/tiered/infer -d ${goldPayload}`,
    `  curl -s '${base}/tiered/infer?variant=fast' -d ${payload}`,
    `  curl -s ${base}/tiered/infer -d ${payload}`,
    `  # mirror: the live model answers; half the calls are copied to the shadow (see the log here)`,
    `  curl -s ${base}/sentiment/infer -d ${payload}`,
    `  # executor: a transformer adds 1, then both fraud models answer at once; the mean comes back`,
    `  curl -s ${base}/scored/infer -d ${payload}`,
    `  # edit a file in examples/ and Envoy follows within a second; Envoy's view:`,
    `  curl -s http://127.0.0.1:${String(ports.admin)}/config_dump?resource=dynamic_route_configs`,
    `  # what the control plane knows: every Envoy's versions, every graph`,
    `  npm run -s switchyard -- status`,
  ].join('\n');
}

/** `switchyard dev`: everything the demo needs, in one process tree, until Ctrl-C. */
export async function devCommand(graphsDir: string): Promise<void> {
  const models: SampleModel[] = [];
  for (const spec of sampleModels) {
    const model = await startSampleModel(spec);
    models.push(model);
  }
  const shadow = models.find((m) => m.port === 9107);
  const controlPlane = await startControlPlane({
    graphsDir: resolve(graphsDir),
    xdsHost: '127.0.0.1',
    xdsPort: ports.xds,
    listener: {
      address: '127.0.0.1',
      port: ports.listener,
      hopPort: ports.hops,
      executor: { address: '127.0.0.1', port: ports.executor, workers: 1 },
    },
  });
  const executor = await startExecutor(envoyProtos(), {
    host: '127.0.0.1',
    port: ports.executor,
    hopUrl: `http://127.0.0.1:${String(ports.hops)}`,
    controlPlane: {
      address: `127.0.0.1:${String(controlPlane.xdsPort)}`,
      group: DEFAULT_GROUP,
      nodeId: 'switchyard-dev-executor',
    },
    log,
  });
  const status = await startStatusServer(
    controlPlane.status,
    { host: '127.0.0.1', port: ports.status },
    {},
    statusPageRoutes(controlPlane),
  );
  const envoy = await startEnvoyProcess({
    bootstrap: bootstrapConfig({
      nodeId: 'switchyard-dev',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: controlPlane.xdsPort,
      adminPort: ports.admin,
      statSink: { flushIntervalMs: 2000 },
    }),
    name: 'dev',
  });
  log(
    `Envoy ${envoy.version} is serving the graphs of ${graphsDir} on 127.0.0.1:${String(ports.listener)}`,
  );
  log(`the graphs, drawn with live traffic: http://127.0.0.1:${String(status.port)}/ui`);
  process.stdout.write(`\n${tryThis()}\n\nPress Ctrl-C to stop.\n`);
  const shadowSeen = setInterval(() => {
    if (shadow && shadow.requests.length > 0) {
      log(`the shadow has received ${String(shadow.requests.length)} mirrored request(s) so far`);
      shadow.requests.length = 0;
    }
  }, 2000);
  await untilSignal();
  clearInterval(shadowSeen);
  await envoy.stop();
  await executor.stop();
  await status.stop();
  await controlPlane.stop();
  await Promise.all(models.map((m) => m.stop()));
}
