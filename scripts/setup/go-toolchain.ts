import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../src/runtime/cache-dir.ts';
import { runWithProgress, type CommandResult } from '../../src/runtime/command-progress.ts';

const run = promisify(execFile);

/** kube-apiserver v1.37 needs Go 1.26; the other Go components need less. */
const minimumGo = [1, 26] as const;

export function keepGoCaches(): boolean {
  return process.env.SWITCHYARD_KEEP_GO_CACHE === '1';
}

/**
 * Go's environment for a build: its own module and build caches, so the result does not
 * depend on the machine's Go state. They live in the build's scratch folder (deleted with
 * it: a cold Kubernetes build leaves ~6.5 GB of them) unless SWITCHYARD_KEEP_GO_CACHE=1
 * keeps them in the cache folder for fast rebuilds. Static binaries (no cgo), module
 * downloads writable so they can be deleted.
 */
export function goEnvironment(work: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const root = keepGoCaches() ? join(cacheDir(), 'go') : join(work, 'go');
  return {
    ...process.env,
    GOPATH: join(root, 'path'),
    GOMODCACHE: join(root, 'mod'),
    GOCACHE: join(root, 'build'),
    GOFLAGS: '-mod=mod -modcacherw -buildvcs=false',
    CGO_ENABLED: '0',
    GOWORK: 'off',
    ...extra,
  };
}

/** Fails with what to do when `go` is missing or older than the builds need. */
export async function checkGo(component: string): Promise<string> {
  let printed: string;
  try {
    printed = (await run('go', ['version'])).stdout.trim();
  } catch {
    throw new Error(
      `setup ${component}: building needs Go ≥ ${minimumGo.join('.')} on PATH (\`go version\` failed).`,
    );
  }
  const match = /go(\d+)\.(\d+)/.exec(printed);
  const major = Number(match?.[1] ?? 0);
  const minor = Number(match?.[2] ?? 0);
  if (major < minimumGo[0] || (major === minimumGo[0] && minor < minimumGo[1]))
    throw new Error(`setup ${component}: needs Go ≥ ${minimumGo.join('.')}, found ${printed}.`);
  return printed;
}

export interface GoCommand {
  readonly label: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export function go(args: readonly string[], how: GoCommand): Promise<CommandResult> {
  return runWithProgress('go', args, { ...how, heartbeatMs: 15_000 });
}

/** Where `go mod download` put a module: its unpacked folder and its go.mod. */
export async function downloadModule(
  module: string,
  how: GoCommand,
): Promise<{ dir: string; goMod: string }> {
  const { stdout } = await go(['mod', 'download', '-json', module], how);
  const info = JSON.parse(stdout) as { Dir?: string; GoMod?: string; Error?: string };
  if (info.Error !== undefined || info.Dir === undefined || info.GoMod === undefined)
    throw new Error(`${how.label}: go mod download ${module}: ${info.Error ?? 'no folder'}`);
  return { dir: info.Dir, goMod: info.GoMod };
}

/**
 * A module of our own that requires the tool's module and imports its main package, for tools
 * `go install` refuses (their go.mod has replace directives): `go mod tidy` resolves the graph.
 */
export async function writeWrapperModule(
  dir: string,
  goMod: string,
  imports: readonly string[],
): Promise<void> {
  await writeFile(join(dir, 'go.mod'), goMod);
  await writeFile(
    join(dir, 'tools.go'),
    `//go:build tools\n\npackage tools\n\nimport (\n${imports.map((path) => `\t_ "${path}"\n`).join('')})\n`,
  );
}
