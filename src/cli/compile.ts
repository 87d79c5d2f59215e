import { compileGraphFiles } from '../controller/compile-files.ts';
import type { CompilerOptions } from '../controller/compile.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import { renderResources } from '../envoy/render.ts';
import { printDiagnostics } from './output.ts';

/** `switchyard compile FILE...`: the Envoy resources the server would send, as JSON on stdout. */
export async function compileCommand(
  paths: readonly string[],
  listener: ListenerOptions,
  options?: CompilerOptions,
): Promise<number> {
  const { resources, diagnostics } = await compileGraphFiles(paths, listener, options);
  printDiagnostics(diagnostics);
  if (diagnostics.length > 0) return 1;
  process.stdout.write(renderResources(resources));
  return 0;
}
