import { readGraphFiles } from '../sources/graph-files.ts';
import { printDiagnostics } from './output.ts';

/** `switchyard validate FILE...`: every problem of every file, exit code 0 or 1. */
export async function validateCommand(paths: readonly string[]): Promise<number> {
  const { graphs, diagnostics } = await readGraphFiles(paths);
  printDiagnostics(diagnostics);
  const problems = diagnostics.length;
  process.stderr.write(
    problems === 0
      ? `${String(graphs.length)} graph(s) valid\n`
      : `${String(problems)} problem(s) found\n`,
  );
  return problems === 0 ? 0 : 1;
}
