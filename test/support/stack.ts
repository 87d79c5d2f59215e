import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startExecutor, type Executor } from '../../src/executor/transport/server.ts';
import type { RequestTelemetry } from '../../src/executor/transport/request-telemetry.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { freePort } from './ports.ts';

/** Control plane, executor and a real Envoy, serving the graph files a test writes. */
export interface Stack {
  /** http://127.0.0.1:<graph listener port> */
  readonly base: string;
  readonly dir: string;
  readonly controlPlane: ControlPlane;
  readonly envoy: RunningEnvoy;
  executor: Executor | undefined;
  readonly executorPort: number;
  readonly hopPort: number;
  write(file: string, yaml: string): void;
  startExecutor(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(
  name: string,
  files: Record<string, string>,
  options: { delta?: boolean; executorTelemetry?: readonly RequestTelemetry[] } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), `switchyard-${name}-`));
  for (const [file, yaml] of Object.entries(files)) writeFileSync(join(dir, file), yaml);
  const listenerPort = await freePort();
  const hopPort = await freePort();
  const executorPort = await freePort();
  const controlPlane = await startControlPlane({
    graphsDir: dir,
    xdsHost: '127.0.0.1',
    xdsPort: 0,
    listener: {
      address: '127.0.0.1',
      port: listenerPort,
      hopPort,
      executor: { address: '127.0.0.1', port: executorPort, workers: 1 },
    },
  });
  const root = envoyProtos();
  const stack: Stack = {
    base: `http://127.0.0.1:${String(listenerPort)}`,
    dir,
    controlPlane,
    envoy: await startEnvoyProcess({
      bootstrap: bootstrapConfig({
        nodeId: `e2e-${name}`,
        nodeCluster: 'switchyard',
        xdsAddress: '127.0.0.1',
        xdsPort: controlPlane.xdsPort,
        adminPort: await freePort(),
        ...(options.delta !== undefined && { delta: options.delta }),
      }),
      name,
    }),
    executor: undefined,
    executorPort,
    hopPort,
    write(file, yaml) {
      writeFileSync(join(dir, file), yaml);
    },
    async startExecutor() {
      stack.executor = await startExecutor(root, {
        host: '127.0.0.1',
        port: executorPort,
        hopUrl: `http://127.0.0.1:${String(hopPort)}`,
        // As a deployed executor: plans too large for a route header come from the control plane.
        controlPlane: {
          address: `127.0.0.1:${String(controlPlane.xdsPort)}`,
          group: 'switchyard',
          nodeId: `e2e-${name}-executor`,
        },
        log: () => undefined,
        ...(options.executorTelemetry && { telemetry: options.executorTelemetry }),
      });
    },
    async stop() {
      await stack.envoy.stop();
      await stack.executor?.stop();
      await controlPlane.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await stack.startExecutor();
  return stack;
}
