import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runWithProgress } from '../../src/runtime/command-progress.ts';
import { ensureCached, installedDir, type CachedInstall } from './cached-install.ts';

const run = promisify(execFile);

/** The model servers users come from (issue 20), pinned; each in a venv of its own. */
export const pythonServers = {
  kserve: ['kserve==0.21.0'],
  mlserver: ['mlserver==1.7.1'],
  // seldon-core's gunicorn 20.1 imports pkg_resources, which setuptools 81 removed.
  'seldon-core': ['seldon-core==1.18.2', 'setuptools<81'],
} as const;

export type PythonServer = keyof typeof pythonServers;

const recipeRevision = 'r1';

async function pythonVersion(): Promise<string> {
  try {
    const { stdout } = await run('python3', [
      '-c',
      'import platform; print(platform.python_version())',
    ]);
    return stdout.trim();
  } catch {
    throw new Error('setup python-servers: needs python3 (with venv and pip) on PATH.');
  }
}

/** A venv points at the python3 it was made with, so that version is part of the stamp. */
function installOf(server: PythonServer, python: string): CachedInstall {
  const operators: Record<string, string> = {
    '==': '-',
    '<': '-lt',
    '<=': '-le',
    '>': '-gt',
    '>=': '-ge',
  };
  const pins = pythonServers[server]
    .map((pin) => pin.replace(/[<>=]+/g, (operator) => operators[operator] ?? '-'))
    .join('_');
  return { component: 'python-servers', stamp: `${pins}-py${python}-${recipeRevision}` };
}

/** The venv's python for a server; run its packages with `python -m`, as the venv's scripts are not used. */
export async function pythonServerPython(server: PythonServer): Promise<string> {
  return join(installedDir(installOf(server, await pythonVersion())), 'bin', 'python');
}

async function makeVenv(server: PythonServer, dir: string): Promise<void> {
  const label = `setup python-servers: ${server}`;
  await runWithProgress('python3', ['-m', 'venv', dir], { label: `${label} venv` });
  await runWithProgress(
    join(dir, 'bin', 'python'),
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--progress-bar',
      'off',
      '--no-input',
      ...pythonServers[server],
    ],
    {
      label: `${label}: pip install ${pythonServers[server].join(' ')}`,
      timeoutMs: 1_800_000,
    },
  );
}

/** kserve, MLServer and seldon-core from PyPI, in venvs in the cache. */
export async function setupPythonServers(): Promise<string> {
  const python = await pythonVersion();
  const results: string[] = [];
  for (const server of Object.keys(pythonServers) as PythonServer[]) {
    const built = await ensureCached(installOf(server, python), (dir) => makeVenv(server, dir));
    results.push(`${server} ${built ? 'installed' : 'cached'}`);
  }
  return `${results.join(', ')} (python ${python})`;
}
