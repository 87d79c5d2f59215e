import { compileGraphFiles } from '../controller/compile-files.ts';
import type { CompilerOptions } from '../controller/compile.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import { printDiagnostics } from './output.ts';

/**
 * `switchyard validate FILE...`: every problem of every file, exit code 0
 * or 1. The graphs are compiled too, as `serve` would: a graph the planner
 * or Envoy's own rules refuse is not valid.
 */
export async function validateCommand(
  paths: readonly string[],
  listener: ListenerOptions,
  options?: CompilerOptions,
): Promise<number> {
  const { graphs, diagnostics } = await compileGraphFiles(paths, listener, options);
  printDiagnostics(diagnostics);
  if (diagnostics.length > 0) {
    process.stderr.write(`${String(diagnostics.length)} problem(s) found\n`);
    return 1;
  }
  // Nothing to check is not "everything valid": a mistyped path must not pass.
  if (graphs.length === 0) {
    process.stderr.write(`no graphs found in ${paths.join(', ')}\n`);
    return 1;
  }
  process.stderr.write(`${String(graphs.length)} graph(s) valid\n`);
  return 0;
}
