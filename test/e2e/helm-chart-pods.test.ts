import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { serveThroughRenderedPods, type SwitchyardLauncher } from '../support/rendered-pods.ts';
import { startServerProcess } from '../support/server-process.ts';

/**
 * The chart's rendered containers run from the sources (the image runs the same CLI, compiled:
 * test/e2e/image.test.ts), in both executor modes: every container's flags agree with the
 * others' on where they meet, and a graph with executor steps answers through Envoy.
 */
const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

const fromSources = (): SwitchyardLauncher => ({
  async runToEnd(_container, args) {
    await run(process.execPath, ['--import', 'tsx', cli, ...args]);
  },
  start: (container, args) =>
    startServerProcess(container.name, process.execPath, ['--import', 'tsx', cli, ...args]),
});

test('the rendered gateway pod (bootstrap, Envoy, the executor beside it on Unix sockets) serves a graph', async () => {
  await serveThroughRenderedPods({}, fromSources);
});

test('with executor.mode=deployment, the rendered executor, reached over TCP, serves a graph through the hop listener', async () => {
  await serveThroughRenderedPods({ 'executor.mode': 'deployment' }, fromSources);
});

test('with xdsTls, the rendered Envoy gets its configuration over mutual TLS from the Secrets the chart mounts, and serves the graph', async () => {
  await serveThroughRenderedPods(
    {
      'xdsTls.enabled': true,
      'xdsTls.serverSecret': 'switchyard-xds-server',
      'xdsTls.clientSecret': 'switchyard-xds-client',
    },
    fromSources,
  );
});
