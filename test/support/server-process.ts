import { spawn, type ChildProcess } from 'node:child_process';

/** A server the test started: its output kept for failures, stopped by the test or at exit. */
export interface ServerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines it printed (stdout and stderr). */
  output(): string;
  /** Rejects if it exits before `stop` is called: a dying server fails the waiting test. */
  readonly exited: Promise<never>;
  /** Why it ended, if it ended before `stop` was called. */
  exitError(): Error | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<() => void>();
let exitHookInstalled = false;

/** If a test process ends without stopping its servers, they must not outlive it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const kill of running) kill();
  });
}

const keptOutputChars = 64 * 1024;

export function startServerProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    /**
     * Signal its whole process group, for servers that fork helpers of their own (seldon-core's
     * gRPC and metrics processes), which would otherwise outlive it and keep their ports.
     */
    group?: boolean;
  } = {},
): ServerProcess {
  installExitHook();
  const group = options.group === true;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  const signal = (name: NodeJS.Signals): void => {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, name);
      else child.kill(name);
    } catch {
      // Already gone.
    }
  };
  const killNow = (): void => {
    signal('SIGKILL');
  };
  running.add(killNow);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-keptOutputChars);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let stopping = false;
  let done = false;
  let unexpectedExit: Error | undefined;
  const ended = new Promise<void>((resolve) => {
    child.once('close', () => {
      done = true;
      // The group's other members may still run after its leader exits.
      if (group) signal('SIGKILL');
      running.delete(killNow);
      resolve();
    });
  });
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('error', (error) => {
      unexpectedExit = new Error(`${name}: cannot run ${command}: ${error.message}`);
      reject(unexpectedExit);
    });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      unexpectedExit = new Error(
        `${name} exited (${signal ?? `code ${String(code)}`}) before it was stopped; its output:\n${output.slice(-8000)}`,
      );
      reject(unexpectedExit);
    });
  });
  // Nobody may be awaiting `exited` when the process ends; the rejection is read by whoever waits.
  exited.catch(() => undefined);
  return {
    name,
    child,
    output: () => output,
    exited,
    exitError: () => unexpectedExit,
    async stop(graceMs = 10_000) {
      stopping = true;
      if (done) return;
      signal('SIGTERM');
      const timer = setTimeout(() => {
        signal('SIGKILL');
      }, graceMs);
      await ended;
      clearTimeout(timer);
    },
  };
}

/**
 * Polls `check` every `intervalMs` until it returns a value, failing after `timeoutMs` or as soon
 * as one of `processes` exits.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; processes?: readonly ServerProcess[] },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    for (const server of options.processes ?? []) {
      const exitError = server.exitError();
      if (exitError !== undefined) throw exitError;
    }
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${String(options.timeoutMs)} ms waiting for ${what}` +
          (lastError === undefined ? '' : `; last error: ${(lastError as Error).message}`),
      );
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
