import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../src/controller/control-plane.ts';
import { startEnvoyProcess } from '../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../src/envoy/bootstrap.ts';
import { ROUTE } from '../src/envoy/type-urls.ts';
import { freePort } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';

/**
 * Time from writing a changed graph file to Envoy's ACK of the route
 * configuration that carries the change, with N graphs loaded, one real
 * Envoy, state-of-the-world and delta xDS in turn.
 * `npx tsx bench/change-to-ack.ts 1 1000 10000`
 */
const sizes = process.argv.slice(2).map((size) => countArgument('graph count', size));
const changes = 20;
const rows: Record<string, string | number>[] = [];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

for (const size of sizes.length > 0 ? sizes : [1, 1000]) {
  for (const delta of [false, true]) rows.push(await measure(size, delta));
}

async function measure(size: number, delta: boolean): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  for (let i = 0; i < size; i++) writeFileSync(join(dir, `g${String(i)}.yaml`), generatedGraph(i));
  let onRouteAck: ((version: string) => void) | undefined;
  const controlPlane = await startControlPlane({
    graphsDir: dir,
    xdsHost: '127.0.0.1',
    xdsPort: 0,
    listener: {
      address: '127.0.0.1',
      port: await freePort(),
      hopPort: await freePort(),
      executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
    },
    xdsEvents: {
      ack: (_stream, typeUrl, version) => {
        if (typeUrl === ROUTE) onRouteAck?.(version);
      },
    },
  });
  const envoy = await startEnvoyProcess({
    bootstrap: bootstrapConfig({
      nodeId: 'bench',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: controlPlane.xdsPort,
      adminPort: await freePort(),
      delta,
    }),
    name: 'bench',
  });
  const times: number[] = [];
  for (let change = 0; change < changes; change++) {
    // Graph 1 is a 90/10 split: move its weights, one step per change.
    const text = generatedGraph(1).replace('weight: 90', `weight: ${String(50 + change)}`);
    const acked = new Promise<void>((resolve) => {
      onRouteAck = () => {
        resolve();
      };
    });
    const started = performance.now();
    writeFileSync(join(dir, 'g1.yaml'), text);
    await acked;
    times.push(performance.now() - started);
  }
  await envoy.stop();
  await controlPlane.stop();
  rmSync(dir, { recursive: true, force: true });
  times.sort((a, b) => a - b);
  return {
    graphs: size,
    xds: delta ? 'delta' : 'sotw',
    changes,
    'p50 ms': Math.round(percentile(times, 50)),
    'p90 ms': Math.round(percentile(times, 90)),
    'max ms': Math.round(times.at(-1) ?? Number.NaN),
  };
}

writeResults(
  'change-to-ack',
  rows,
  '# File change to Envoy ACK\n\nOne graph file rewritten (a weight change); time until Envoy ACKs the route configuration carrying it. One Envoy 1.40 on the same 2 cores; the times include the 30 ms file-settle delay of the watcher. `npx tsx bench/change-to-ack.ts 1 1000 10000`.',
);
