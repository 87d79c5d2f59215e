import { join } from 'node:path';
import { startServerProcess, waitFor, type ServerProcess } from './server-process.ts';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** A running `switchyard executor`; `output()` is all it printed, for tests that read its log. */
export type ExecutorProcess = ServerProcess;

/**
 * `switchyard executor --workers N ...args` from the sources, once every
 * worker says it listens ("executor pid … on …").
 */
export async function startExecutorProcess(
  workers: number,
  args: readonly string[],
): Promise<ExecutorProcess> {
  const executor = startServerProcess('executor', process.execPath, [
    '--import',
    'tsx',
    main,
    'executor',
    '--workers',
    String(workers),
    ...args,
  ]);
  // The kept tail of its output is bounded; a test reading its log wants every line.
  let output = '';
  const keep = (chunk: Buffer) => (output += chunk.toString('utf8'));
  executor.child.stdout?.on('data', keep);
  executor.child.stderr?.on('data', keep);
  await waitFor(
    `${String(workers)} executor worker(s) to listen`,
    () =>
      Promise.resolve((output.match(/executor pid/g) ?? []).length >= workers ? true : undefined),
    // Each worker compiles the TypeScript again through tsx: slow on a busy machine.
    { timeoutMs: 60_000, processes: [executor] },
  );
  return { ...executor, output: () => output };
}
