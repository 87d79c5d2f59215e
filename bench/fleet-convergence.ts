import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../src/controller/control-plane.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../src/envoy/bootstrap.ts';
import { ROUTE } from '../src/envoy/type-urls.ts';
import { freePort } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';

/**
 * Time from a changed graph file to the ACK of the new routes by every Envoy
 * of a fleet, 100 graphs loaded (or `--graphs N`).
 * `npx tsx bench/fleet-convergence.ts 1 10 50 [--delta] [--graphs N]`
 */
const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    delta: { type: 'boolean', default: false },
    graphs: { type: 'string', default: '100' },
  },
});
const delta = options.delta;
const fleets = positionals.map((count) => countArgument('Envoy count', count));
const graphs = countArgument('--graphs', options.graphs);
const changes = 10;
const rows: Record<string, string | number>[] = [];

for (const size of fleets.length > 0 ? fleets : [1, 10]) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-fleet-'));
  for (let i = 0; i < graphs; i++)
    writeFileSync(join(dir, `g${String(i)}.yaml`), generatedGraph(i));
  const acked = new Map<string, string>();
  let check: (() => void) | undefined;
  const controlPlane = await startControlPlane({
    graphsDir: dir,
    xdsHost: '127.0.0.1',
    xdsPort: 0,
    listener: {
      address: '127.0.0.1',
      port: 0,
      hopPort: 0,
      executor: { address: '127.0.0.1', port: 1, workers: 1 },
    },
    xdsEvents: {
      ack: (stream, typeUrl, version) => {
        if (typeUrl !== ROUTE) return;
        acked.set(stream.nodeId, version);
        check?.();
      },
    },
  });
  const envoys: RunningEnvoy[] = [];
  const startedFleet = performance.now();
  for (let i = 0; i < size; i++) {
    envoys.push(
      await startEnvoyProcess({
        bootstrap: bootstrapConfig({
          nodeId: `envoy-${String(i)}`,
          nodeCluster: 'switchyard',
          xdsAddress: '127.0.0.1',
          xdsPort: controlPlane.xdsPort,
          adminPort: await freePort(),
          delta,
        }),
        name: `fleet-${String(i)}`,
      }),
    );
  }
  const fleetStartMs = performance.now() - startedFleet;
  const times: number[] = [];
  for (let change = 0; change < changes; change++) {
    const before = new Map(acked);
    const allAcked = new Promise<void>((resolve) => {
      check = () => {
        const done = envoys.every((_, i) => {
          const id = `envoy-${String(i)}`;
          return acked.get(id) !== undefined && acked.get(id) !== before.get(id);
        });
        if (done) resolve();
      };
    });
    const started = performance.now();
    writeFileSync(
      join(dir, 'g1.yaml'),
      generatedGraph(1).replace('weight: 90', `weight: ${String(50 + change)}`),
    );
    await allAcked;
    times.push(performance.now() - started);
  }
  await Promise.all(envoys.map((e) => e.stop()));
  await controlPlane.stop();
  rmSync(dir, { recursive: true, force: true });
  times.sort((a, b) => a - b);
  rows.push({
    envoys: size,
    xds: delta ? 'delta' : 'sotw',
    'fleet start s': (fleetStartMs / 1000).toFixed(1),
    'change→all ACKed p50 ms': Math.round(times[Math.floor(times.length / 2)] ?? Number.NaN),
    'max ms': Math.round(times.at(-1) ?? Number.NaN),
  });
}

const many = graphs === 100 ? '' : `-${String(graphs)}`;
writeResults(
  `fleet-convergence-${delta ? 'delta' : 'sotw'}${many}`,
  rows,
  `# Fleet convergence\n\n${String(graphs)} graphs loaded; one graph file changed ${String(changes)} times; time until every Envoy ACKed the new routes. Envoy 1.40 processes on the same 2-core machine as the control plane. \`npx tsx bench/fleet-convergence.ts ${fleets.join(' ')}${delta ? ' --delta' : ''}${many ? ` --graphs ${String(graphs)}` : ''}\`.`,
);
