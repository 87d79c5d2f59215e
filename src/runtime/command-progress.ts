import { spawn } from 'node:child_process';

export interface CommandProgressOptions {
  /** What the command does, first on every progress line ("kubernetes: go build kube-apiserver"). */
  readonly label: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Lines of the command's output worth printing as they come (pip's "Downloading ..."). */
  readonly echo?: (line: string) => boolean;
  /** How often a quiet command is reported still running, with its last line. */
  readonly heartbeatMs?: number;
  readonly timeoutMs?: number;
  readonly write?: (text: string) => void;
}

export interface CommandResult {
  readonly stdout: string;
  readonly elapsedMs: number;
}

/** "850ms", "12.3s", "4m05s". */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${String(Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${String(Math.floor(seconds / 60))}m${String(seconds % 60).padStart(2, '0')}s`;
}

const keptLines = 60;

/**
 * Runs a slow command (pip, go build, apt-get) and says what it is doing while it runs:
 * selected lines at once, and a heartbeat with the elapsed time, the number of lines so far
 * and the last one (for `go build -v` that is the package being compiled). On failure the
 * error carries the command's last lines, since nothing else of its output was shown.
 */
export function runWithProgress(
  command: string,
  args: readonly string[],
  options: CommandProgressOptions,
): Promise<CommandResult> {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const started = Date.now();
  const tail: string[] = [];
  const stdout: string[] = [];
  let lineCount = 0;
  let lastLine = '';
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const take = (partial: { rest: string }, chunk: Buffer, keep: boolean): void => {
    if (keep) stdout.push(chunk.toString());
    const lines = (partial.rest + chunk.toString()).split(/\r?\n|\r/);
    partial.rest = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      if (line === '') continue;
      lineCount++;
      lastLine = line;
      tail.push(line);
      if (tail.length > keptLines) tail.shift();
      if (options.echo?.(line) === true) write(`${options.label}: ${line}\n`);
    }
  };
  const outPartial = { rest: '' };
  const errPartial = { rest: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    take(outPartial, chunk, true);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    take(errPartial, chunk, false);
  });
  const heartbeat = setInterval(() => {
    const shown = lastLine.length > 100 ? `${lastLine.slice(0, 97)}...` : lastLine;
    write(
      `${options.label}: still running, ${formatElapsed(Date.now() - started)}` +
        (lineCount > 0 ? ` (${String(lineCount)} lines of output; last: ${shown})\n` : '\n'),
    );
  }, options.heartbeatMs ?? 15_000);
  const timeout =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          child.kill('SIGKILL');
        }, options.timeoutMs);
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      clearInterval(heartbeat);
      if (timeout !== undefined) clearTimeout(timeout);
    };
    child.once('error', (error) => {
      finish();
      reject(new Error(`${options.label}: cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      finish();
      if (code === 0) {
        resolve({ stdout: stdout.join(''), elapsedMs: Date.now() - started });
        return;
      }
      const how = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      reject(
        new Error(
          `${options.label}: \`${[command, ...args].join(' ')}\` failed (${how}) after ` +
            `${formatElapsed(Date.now() - started)}; its last lines:\n${tail.join('\n')}`,
        ),
      );
    });
  });
}
