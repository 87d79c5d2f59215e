import type protobuf from 'protobufjs';
import type { ListenerOptions } from '../envoy/options.ts';
import type { ResourceSet } from '../envoy/resource-set.ts';
import type { GraphModel } from '../graph/model.ts';
import type { PlannedGraph } from '../plan/plan.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { readGraphFiles } from '../sources/graph-files.ts';
import type { SourceUpdate } from '../sources/source-update.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { GraphCompiler, type CompilerOptions } from './compile.ts';
import { LastGoodGraphs } from './last-good.ts';

export interface UnitsCompiled {
  /** The graphs of the units that passed every check, units in name order. */
  readonly graphs: readonly GraphModel[];
  /** Their plans, in the same order. */
  readonly planned: readonly PlannedGraph[];
  /** Their Envoy resources: what `serve` would push for them. */
  readonly resources: ResourceSet;
  /** Every problem of every unit, units in name order. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Source units checked and compiled once, by the same stages `serve` runs:
 * a unit the planner or Envoy's own rules refuse is as invalid as one the
 * spec schema refuses. Where two units claim one name or route, the one
 * given first keeps it.
 */
export function compileUnits(
  updates: readonly SourceUpdate[],
  listener: ListenerOptions,
  root: protobuf.Root,
  options?: CompilerOptions,
): UnitsCompiled {
  const compiler = new GraphCompiler(root, listener, options);
  const lastGood = new LastGoodGraphs((graph) => compiler.problemsOf(graph));
  lastGood.apply(updates);
  const graphs = lastGood.graphs();
  const { resources } = compiler.compile(graphs);
  return {
    graphs,
    planned: graphs.flatMap((graph) => compiler.plannedOf(graph) ?? []),
    resources,
    diagnostics: [...lastGood.problems().values()].flat(),
  };
}

/** `validate` and `compile`: graph files (a directory's, in name order) through compileUnits. */
export async function compileGraphFiles(
  paths: readonly string[],
  listener: ListenerOptions,
  options?: CompilerOptions,
): Promise<UnitsCompiled> {
  return compileUnits(await readGraphFiles(paths), listener, envoyProtos(), options);
}
