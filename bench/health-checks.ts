import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../src/controller/control-plane.ts';
import { bootstrapConfig } from '../src/envoy/bootstrap.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../src/runtime/envoy-process.ts';
import { freePort } from '../test/support/ports.ts';
import { waitFor } from '../test/support/http.ts';
import { countArgument } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';

/**
 * What readiness costs an idle Envoy: every node's endpoints are health
 * checked every 3 s. With N generated graphs loaded (their endpoints on
 * loopback ports nobody listens on, so every check is a refused connection,
 * the worst case for connection churn), Envoy's CPU time and the checks it
 * makes over 30 s of no traffic.
 * `npx tsx bench/health-checks.ts 1000 10000`
 */
const sizes = process.argv.slice(2).map((size) => countArgument('graph count', size));
const windowMs = 30_000;
const rows: Record<string, string | number>[] = [];

/** User plus system CPU time of a process, in milliseconds. */
function cpuMs(pid: number): number {
  const fields =
    readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
      .split(') ')[1]
      ?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

async function checks(envoy: RunningEnvoy): Promise<{ clusters: number; attempts: number }> {
  const stats = await envoy.stats('health_check.attempt');
  const values = Object.values(stats);
  return { clusters: values.length, attempts: values.reduce((sum, n) => sum + n, 0) };
}

for (const size of sizes.length > 0 ? sizes : [1000]) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  for (let i = 0; i < size; i++) writeFileSync(join(dir, `g${String(i)}.yaml`), generatedGraph(i));
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
  });
  const envoy = await startEnvoyProcess({
    bootstrap: bootstrapConfig({
      nodeId: 'bench',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: controlPlane.xdsPort,
      adminPort: await freePort(),
    }),
    name: 'bench',
  });
  // Every graph's clusters loaded, and a round of checks behind them.
  await waitFor('every cluster', async () => (await checks(envoy)).clusters > size, 600_000, 1000);
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const before = { cpu: cpuMs(envoy.pid), ...(await checks(envoy)) };
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = { cpu: cpuMs(envoy.pid), ...(await checks(envoy)) };
  await envoy.stop();
  await controlPlane.stop();
  rmSync(dir, { recursive: true, force: true });
  rows.push({
    graphs: size,
    'clusters checked': after.clusters,
    'checks per s': Math.round(((after.attempts - before.attempts) * 1000) / windowMs),
    'Envoy CPU, % of a core': Math.round(((after.cpu - before.cpu) * 100) / windowMs),
  });
}

writeResults(
  'health-checks',
  rows,
  '# Health checks of an idle Envoy\n\nEvery node cluster (and the executor) health-checked every 3 s, no traffic, 30 s; the endpoints refuse connections (nobody listens), so each check is a connection attempt. One Envoy 1.40 on the same 2 cores. `npx tsx bench/health-checks.ts 1000 10000`.',
);
