import { compileGraphs } from '../controller/compile.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import { renderResources } from '../envoy/render.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { readGraphFiles } from '../sources/graph-files.ts';
import { printDiagnostics } from './output.ts';

/** `switchyard compile FILE...`: the Envoy resources the server would send, as JSON on stdout. */
export async function compileCommand(
  paths: readonly string[],
  listener: ListenerOptions,
): Promise<number> {
  const { graphs, diagnostics } = await readGraphFiles(paths);
  const compiled = compileGraphs(graphs, listener, envoyProtos());
  const problems = [...diagnostics, ...compiled.diagnostics];
  printDiagnostics(problems);
  if (problems.length > 0) return 1;
  process.stdout.write(renderResources(compiled.resources));
  return 0;
}
