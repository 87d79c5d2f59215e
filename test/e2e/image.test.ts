import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chartDir } from '../support/chart.ts';
import {
  buildImage,
  repositoryRoot,
  startDockerEngine,
  type DockerEngine,
} from '../../scripts/setup/docker-engine.ts';
import { chartAppVersion, startContainer } from '../support/docker.ts';
import { serveThroughRenderedPods, type SwitchyardLauncher } from '../support/rendered-pods.ts';

/**
 * The image, built by a real Docker engine from the repository's Dockerfile: its build stage on a
 * base with Node 20, npm and a compiler (npm ci builds the RE2 addon, npm run build, npm prune),
 * its runtime stage on a base with Node alone, both assembled from Debian and this machine's
 * Node (no image registry can be reached here). It is then run as the chart runs it — user
 * 65532, read-only root, no capabilities, no privilege escalation — and the chart's containers,
 * from this image, serve a graph through Envoy.
 */
const root = repositoryRoot;
// The chart runs its containers this way (values.yaml securityContext); host network, where
// the tests bind loopback only.
const asTheChartRunsIt = [
  '--network=host',
  '--read-only',
  '--user=65532:65532',
  '--cap-drop=ALL',
  '--security-opt=no-new-privileges',
];

let engine: DockerEngine;
let image: string;

before(async () => {
  engine = await startDockerEngine();
  image = `switchyard-test/switchyard:${await chartAppVersion(chartDir)}`;
  // npm run setup built the deps stage (npm ci and the RE2 addon, minutes on 2 cores) into the
  // engine's cache: this build reuses it unless package-lock.json or the addon changed since.
  await buildImage(engine, { tag: image, label: 'image test: docker build' });
});

after(async () => {
  await engine.stop();
});

test('the image runs the compiled CLI as user 65532, and holds dist/, the RE2 addon and production dependencies only', async () => {
  const config = JSON.parse(
    await engine.docker(['image', 'inspect', '--format={{json .Config}}', image]),
  ) as { User: string; Entrypoint: string[]; WorkingDir: string };
  assert.equal(config.User, '65532:65532');
  assert.deepEqual(config.Entrypoint, ['node', '/app/bin/switchyard.js']);
  // npm prune --omit=dev keeps what the lock file does not mark dev-only (a devDependency of
  // ours that a dependency needs too, as @types/node, stays), and removes the rest.
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
  };
  const topLevel = Object.entries(lock.packages).filter(
    ([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && entry.devOptional !== true,
  );
  const devOnly = topLevel.filter(([, entry]) => entry.dev === true).map(([path]) => path);
  const production = topLevel
    .filter(([, entry]) => entry.dev !== true && entry.optional !== true)
    .map(([path]) => path);
  assert.ok(devOnly.length > 0 && production.length > 0);
  const listing = JSON.parse(
    await engine.docker([
      'run',
      '--rm',
      ...asTheChartRunsIt,
      '--entrypoint=node',
      image,
      '-e',
      `const { existsSync, readdirSync } = require('node:fs');
       const present = (paths) => paths.filter((path) => existsSync('/app/' + path));
       console.log(JSON.stringify({
         app: readdirSync('/app').sort(),
         devOnly: present(${JSON.stringify(devOnly)}),
         production: present(${JSON.stringify(production)}),
         cli: existsSync('/app/dist/cli/main.js'),
         addon: existsSync('/app/.cache/re2-program-size/build/Release/re2_program_size.node'),
       }));`,
    ]),
  ) as { app: string[]; devOnly: string[]; production: string[]; cli: boolean; addon: boolean };
  assert.deepEqual(listing.app, ['.cache', 'bin', 'dist', 'node_modules', 'package.json']);
  assert.deepEqual(listing.devOnly, [], 'no dev-only package');
  assert.deepEqual(listing.production, production, 'every production package');
  assert.ok(listing.cli, 'dist/cli/main.js');
  assert.ok(listing.addon, 'the RE2 program-size addon');
});

test('`validate` runs from the image as the chart runs it, RE2 addon included, and refuses a bad graph', async () => {
  const examples = join(root, 'examples');
  const valid = await engine.docker([
    'run',
    '--rm',
    ...asTheChartRunsIt,
    `--volume=${examples}:/graphs:ro`,
    image,
    'validate',
    '/graphs',
  ]);
  assert.equal(valid, '', 'the verdict goes to stderr');
  await assert.rejects(
    engine.docker([
      'run',
      '--rm',
      ...asTheChartRunsIt,
      `--volume=${join(root, 'test', 'golden', 'invalid')}:/graphs:ro`,
      image,
      'validate',
      '/graphs',
    ]),
    /problem\(s\) found/,
  );
});

test("the chart's containers, from this image, serve a graph through Envoy and the executor on Unix sockets", async () => {
  const [repository, tag] = image.split(':') as [string, string];
  const containers: string[] = [];
  const fromImage = (dir: string): SwitchyardLauncher => {
    // The pod's folders, mounted where the processes on this host (Envoy) see them too.
    const mounts = [`--volume=${dir}:${dir}`];
    return {
      async runToEnd(container, args) {
        assert.equal(container.image, image, `${container.name} runs the image`);
        await engine.docker(['run', '--rm', ...asTheChartRunsIt, ...mounts, image, ...args]);
      },
      start(container, args) {
        assert.equal(container.image, image, `${container.name} runs the image`);
        const name = `switchyard-test-${container.name}-${String(process.pid)}`;
        containers.push(name);
        return startContainer(engine, container.name, [
          '--rm',
          `--name=${name}`,
          ...asTheChartRunsIt,
          ...mounts,
          image,
          ...args,
        ]);
      },
    };
  };
  try {
    await serveThroughRenderedPods({ 'image.repository': repository, 'image.tag': tag }, fromImage);
  } finally {
    for (const name of containers)
      await engine.docker(['rm', '--force', name]).catch(() => undefined);
  }
});
