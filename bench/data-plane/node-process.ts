import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The first group of `ready`, if any: the port the process listens on. */
  readonly port: number;
}

/**
 * Starts a TypeScript script of this repository in a child process and
 * waits for `ready` in what it prints (stdout or stderr).
 */
export function startNodeProcess(
  script: string,
  argv: readonly string[],
  ready = /READY (\d+)/,
  nodeFlags: readonly string[] = [],
): Promise<NodeProcess> {
  return startProcess(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...argv], ready);
}

/** Starts any program from the repository's root and waits for `ready` in what it prints. */
export async function startProcess(
  command: string,
  argv: readonly string[],
  ready = /READY (\d+)/,
): Promise<NodeProcess> {
  const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const watch = (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-16_384);
      const match = ready.exec(seen);
      if (match) resolve(Number(match[1] ?? 0));
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`${command} ${argv.join(' ')} exited with ${String(code)}:\n${seen}`));
    });
  });
  return { child, pid: child.pid ?? 0, port };
}

/** Stops every process with SIGTERM and waits until each has exited. */
export async function stopNodeProcesses(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            resolve(undefined);
            return;
          }
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
}
