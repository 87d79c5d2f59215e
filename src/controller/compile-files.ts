import type { ListenerOptions } from '../envoy/options.ts';
import type { ResourceSet } from '../envoy/resource-set.ts';
import type { GraphModel } from '../graph/model.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { readGraphFiles } from '../sources/graph-files.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { GraphCompiler } from './compile.ts';
import { LastGoodGraphs } from './last-good.ts';

export interface FilesCompiled {
  /** The graphs of the files that passed every check. */
  readonly graphs: readonly GraphModel[];
  /** Their Envoy resources: what `serve` would push for them. */
  readonly resources: ResourceSet;
  /** Every problem of every file, files in name order. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Graph files checked and compiled once, by the same stages `serve` runs
 * (`validate` and `compile`): a file the planner or Envoy's own rules
 * refuse is as invalid as one the spec schema refuses. Where two files
 * claim one name or route, the one given first keeps it.
 */
export async function compileGraphFiles(
  paths: readonly string[],
  listener: ListenerOptions,
): Promise<FilesCompiled> {
  const compiler = new GraphCompiler(envoyProtos(), listener);
  const lastGood = new LastGoodGraphs((graph) => compiler.problemsOf(graph));
  lastGood.apply(await readGraphFiles(paths));
  const graphs = lastGood.graphs();
  return {
    graphs,
    resources: compiler.compile(graphs).resources,
    diagnostics: [...lastGood.problems().values()].flat(),
  };
}
