import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../src/runtime/cache-dir.ts';
import { runWithProgress, type CommandResult } from '../../src/runtime/command-progress.ts';
import { acquireLock } from './cached-install.ts';
import { dockerBases } from './docker-bases.ts';

const run = promisify(execFile);

/**
 * A Docker engine of Switchyard's own: Debian's dockerd on a socket in a temporary folder, with
 * no bridge and no iptables (containers share the host's network, where tests bind loopback
 * only), its images and build cache in the machine cache, so an image's unchanged layers (npm ci
 * and the RE2 addon it builds) are reused from one run to the next, as on any build machine.
 * One process at a time holds it (setup warming its cache, or the image test).
 */
export interface DockerEngine {
  /** DOCKER_HOST for this engine, in the environment of anything that runs `docker`. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the docker CLI against this engine; resolves to stdout. */
  docker(args: readonly string[], options?: { timeoutMs?: number }): Promise<string>;
  /** The two base images of the Dockerfile's arguments, imported from setup's tarballs. */
  readonly bases: { readonly build: string; readonly runtime: string };
  stop(): Promise<void>;
}

/** The repository the image is built from. */
export const repositoryRoot = join(import.meta.dirname, '..', '..');

export async function startDockerEngine(): Promise<DockerEngine> {
  const bases = dockerBases();
  const release = await acquireLock('docker-engine');
  const execRoot = await mkdtemp(join(tmpdir(), 'sy-dockerd-'));
  const dataRoot = join(cacheDir(), 'docker-engine');
  await mkdir(dataRoot, { recursive: true });
  const socket = join(execRoot, 'docker.sock');
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  let output = '';
  const daemon = spawn(
    'dockerd',
    [
      `--data-root=${dataRoot}`,
      `--exec-root=${execRoot}`,
      `--pidfile=${join(execRoot, 'dockerd.pid')}`,
      `--host=unix://${socket}`,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-16_000);
  };
  daemon.stdout.on('data', keep);
  daemon.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    daemon.once('close', () => {
      resolve();
    });
  });
  const cleanUp = async (): Promise<void> => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      const killer = setTimeout(() => daemon.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    }
    // dockerd leaves its default network namespace mounted in its exec root.
    const netns = join(execRoot, 'netns', 'default');
    if (existsSync(netns)) await run('umount', [netns]).catch(() => undefined);
    await rm(execRoot, { recursive: true, force: true });
    await release();
  };
  const docker = async (
    args: readonly string[],
    options: { timeoutMs?: number } = {},
  ): Promise<string> => {
    try {
      const { stdout } = await run('docker', args, {
        env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`docker ${args.join(' ')} failed: ${(error as Error).message}\n${stderr}`);
    }
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (daemon.exitCode !== null) throw new Error('dockerd exited at start');
      try {
        await docker(['version']);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const importBase = async (tar: string, name: string): Promise<string> => {
      const tag = `switchyard-base/${name}:${bases.stamp}`;
      if ((await docker(['image', 'ls', '--quiet', tag])).trim() === '')
        await docker(
          [
            'import',
            ...Object.entries(bases.env).flatMap(([key, value]) => [
              '--change',
              `ENV ${key}=${value}`,
            ]),
            tar,
            tag,
          ],
          { timeoutMs: 600_000 },
        );
      return tag;
    };
    return {
      env,
      docker,
      bases: {
        build: await importBase(bases.buildTar, 'build'),
        runtime: await importBase(bases.runtimeTar, 'runtime'),
      },
      async stop() {
        // Images a newer build of the same tag replaced: later builds cannot reuse them.
        await docker(['image', 'prune', '--force'], { timeoutMs: 300_000 }).catch(() => '');
        await cleanUp();
      },
    };
  } catch (error) {
    await cleanUp();
    throw new Error(`${(error as Error).message}\n----- dockerd\n${output.slice(-4000)}`);
  }
}

/**
 * `docker build` of the repository's Dockerfile on the engine's bases (up to `target`, a stage,
 * if given), printing progress while it runs.
 */
export function buildImage(
  engine: DockerEngine,
  options: { tag: string; target?: string; label: string },
): Promise<CommandResult> {
  return runWithProgress(
    'docker',
    [
      'build',
      '--network=host',
      `--build-arg=BUILD_BASE=${engine.bases.build}`,
      `--build-arg=RUNTIME_BASE=${engine.bases.runtime}`,
      ...(options.target === undefined ? [] : [`--target=${options.target}`]),
      `--tag=${options.tag}`,
      repositoryRoot,
    ],
    { label: options.label, env: engine.env, heartbeatMs: 15_000 },
  );
}
