import {
  importKserveGraph,
  inferenceServiceInfo,
  isKserveGraph,
  type InferenceServiceInfo,
} from './kserve.ts';
import type { ImportNote, ImportOptions, ImportResult } from './result.ts';
import { importSeldonDeployment, isSeldonDeployment } from './seldon.ts';

/** One parsed object of the input and where it came from (a file and document, or a watched resource). */
export interface SourceObject {
  readonly source: string;
  readonly value: unknown;
}

function isInferenceService(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'InferenceService' &&
    String((value as { apiVersion?: unknown }).apiVersion).startsWith('serving.kserve.io/')
  );
}

/**
 * KServe InferenceGraphs and Seldon SeldonDeployments in, Switchyard graphs
 * and what was not carried over out. InferenceServices among the objects
 * tell how their graphs' steps are called (protocol, model name), as
 * KServe's controller reads them. Pure: objects already parsed, by a file
 * reader or (later) a Kubernetes watch.
 */
export function importObjects(
  objects: readonly SourceObject[],
  options: ImportOptions = {},
): ImportResult {
  const isvcs = new Map<string, InferenceServiceInfo>();
  for (const { value } of objects) {
    if (!isInferenceService(value)) continue;
    const info = inferenceServiceInfo(value);
    const name = (value.metadata as { name?: unknown } | undefined)?.name;
    if (info && typeof name === 'string') isvcs.set(name, info);
  }
  const graphs: ImportResult['graphs'][number][] = [];
  const notes: ImportNote[] = [];
  const refused: string[] = [];
  const foreign: string[] = [];
  for (const { source, value } of objects) {
    if (isInferenceService(value)) continue;
    const imported = isKserveGraph(value)
      ? importKserveGraph(value, options, isvcs)
      : isSeldonDeployment(value)
        ? importSeldonDeployment(value, options)
        : undefined;
    if (!imported) {
      refused.push(source);
      foreign.push(source);
      notes.push({
        source,
        path: '',
        message:
          'not imported: neither a KServe InferenceGraph (serving.kserve.io/v1alpha1) nor a Seldon SeldonDeployment (machinelearning.seldon.io v1, v1alpha2, v1alpha3)',
      });
      continue;
    }
    notes.push(...imported.notes);
    if (imported.graph) graphs.push(imported.graph);
    else refused.push(source);
  }
  return { graphs, notes, refused, foreign };
}
