import { buildGraph } from '../graph/build.ts';
import type { GraphModel } from '../graph/model.ts';
import type { Diagnostic } from './diagnostic.ts';
import { parseDocuments } from './parse.ts';
import { semanticDiagnostics } from './semantics.ts';
import { validateDocument } from './validate.ts';

/**
 * Text in, graph models and every problem out. Never throws on user input:
 * a document with any problem yields no graph, only its diagnostics.
 */
export function loadGraphDocuments(
  source: string,
  text: string,
): { graphs: GraphModel[]; diagnostics: Diagnostic[] } {
  const graphs: GraphModel[] = [];
  const diagnostics: Diagnostic[] = [];
  const documents = parseDocuments(source, text).filter(
    (d) => d.value !== null || d.diagnostics.length > 0,
  );
  documents.forEach((parsed, index) => {
    // Several documents in one file: say which one a problem is in.
    const where = documents.length > 1 ? `document ${String(index + 1)}` : '';
    const label = (d: Diagnostic): Diagnostic =>
      where === '' ? d : { ...d, path: d.path === '' ? where : `${where}: ${d.path}` };
    if (parsed.value === undefined) {
      diagnostics.push(...parsed.diagnostics.map(label));
      return;
    }
    const validated = validateDocument(source, parsed.value);
    const semantic = validated.document ? semanticDiagnostics(source, validated.document) : [];
    const built = validated.document ? buildGraph(source, validated.document) : undefined;
    // Every check runs so that every problem shows at once, but one problem per place.
    const problems: Diagnostic[] = [];
    const found = [
      ...parsed.diagnostics,
      ...validated.diagnostics,
      ...semantic,
      ...(built?.diagnostics ?? []),
    ];
    for (const d of found) if (!problems.some((p) => p.path === d.path)) problems.push(d);
    diagnostics.push(...problems.map(label));
    if (built?.graph && problems.length === 0) graphs.push(built.graph);
  });
  if (documents.length === 0) {
    diagnostics.push({
      code: 'not-a-graph',
      source,
      path: '',
      message: 'the file holds no document',
      hint: 'write an InferenceGraph (apiVersion: switchyard.io/v1alpha1, kind: InferenceGraph)',
    });
  }
  return { graphs, diagnostics };
}
