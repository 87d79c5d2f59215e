import { buildGraph } from './build.ts';
import type { GraphModel } from './model.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { parseDocuments, type ParsedDocument } from '../spec/parse.ts';
import { parentPath } from '../spec/paths.ts';
import { quickDocumentValues } from '../spec/quick-parse.ts';
import { semanticDiagnostics } from '../spec/semantics.ts';
import { validateDocument } from '../spec/validate.ts';

/** Where a path's problem belongs in the text: at its key, or at the nearest ancestor written. */
function positionOf(parsed: ParsedDocument, path: string): number {
  for (let at: string | undefined = path; at !== undefined; at = parentPath(at)) {
    const position = parsed.positions.get(at);
    if (position !== undefined) return position;
  }
  return 0;
}

/** Every problem of one document, each once, in the order a reader meets them in the text. */
function checkDocument(
  source: string,
  parsed: ParsedDocument,
): { graph?: GraphModel; diagnostics: Diagnostic[] } {
  const found = [...parsed.diagnostics];
  let graph: GraphModel | undefined;
  if (parsed.value !== undefined) {
    const validated = validateDocument(source, parsed.value);
    found.push(...validated.diagnostics);
    if (validated.document) {
      found.push(...semanticDiagnostics(source, validated.document));
      const built = buildGraph(source, validated.document);
      found.push(...built.diagnostics);
      graph = built.graph;
    }
  }
  const seen = new Set<string>();
  const diagnostics = found
    .filter((d) => {
      const key = `${d.path}\u0000${d.code}\u0000${d.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((d) => ({ d, position: positionOf(parsed, d.path) }))
    .sort((a, b) => a.position - b.position)
    .map(({ d }) => d);
  return diagnostics.length === 0 && graph ? { graph, diagnostics } : { diagnostics };
}

/**
 * One document already read into plain data (a Kubernetes object, say) in,
 * its graph or every problem out; paths are those of the object, in the
 * order the checks find them. Never throws on user input.
 */
export function loadGraphObject(
  source: string,
  value: unknown,
): { graph?: GraphModel; diagnostics: Diagnostic[] } {
  return checkDocument(source, { value, diagnostics: [], positions: new Map() });
}

/**
 * The graphs of a text read by the quick YAML reader, or undefined unless
 * every document is a graph without a problem: problems are reported from
 * the exact reader, which knows where in the text each one is.
 */
function quickLoad(source: string, text: string): GraphModel[] | undefined {
  const values = quickDocumentValues(text)?.filter((value) => value != null);
  if (values === undefined || values.length === 0) return undefined;
  const graphs: GraphModel[] = [];
  for (const value of values) {
    const { graph } = loadGraphObject(source, value);
    if (!graph) return undefined;
    graphs.push(graph);
  }
  return graphs;
}

/**
 * Text in, graph models and every problem out. Never throws on user input:
 * a document with any problem yields no graph, only its diagnostics.
 */
export function loadGraphDocuments(
  source: string,
  text: string,
): { graphs: GraphModel[]; diagnostics: Diagnostic[] } {
  const graphs = quickLoad(source, text);
  return graphs ? { graphs, diagnostics: [] } : exactLoad(source, text);
}

function exactLoad(
  source: string,
  text: string,
): { graphs: GraphModel[]; diagnostics: Diagnostic[] } {
  // "---" alone or a trailing separator makes an empty document: not a mistake worth reporting.
  const documents = parseDocuments(source, text)
    .map((parsed, index) => ({ parsed, number: index + 1 }))
    .filter(({ parsed }) => parsed.value !== null || parsed.diagnostics.length > 0);
  if (documents.length === 0) {
    return {
      graphs: [],
      diagnostics: [
        {
          code: 'not-a-graph',
          source,
          path: '',
          message: 'the file holds no document',
          hint: 'write an InferenceGraph (apiVersion: switchyard.io/v1alpha1, kind: InferenceGraph)',
        },
      ],
    };
  }
  const graphs: GraphModel[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const { parsed, number } of documents) {
    const checked = checkDocument(source, parsed);
    if (checked.graph) graphs.push(checked.graph);
    // Several documents in one file: say which one a problem is in, counting as the file does.
    const where = documents.length > 1 ? `document ${String(number)}` : '';
    for (const d of checked.diagnostics) {
      diagnostics.push(
        where === '' ? d : { ...d, path: d.path === '' ? where : `${where}: ${d.path}` },
      );
    }
  }
  return { graphs, diagnostics };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

/** Where a text that is not UTF-8 first goes wrong, by line (1-based). */
function firstBadLine(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    try {
      strictUtf8.decode(bytes.subarray(start, i));
    } catch {
      return line;
    }
    line++;
    start = i + 1;
  }
  return line;
}

/**
 * A graph file's bytes in, as loadGraphDocuments. Bytes that are not UTF-8
 * are refused, not read as U+FFFD: a name or path made of them would reach
 * Envoy as something else than was written. `text` is the file as read,
 * for comparing one version with the next.
 */
export function loadGraphFile(
  source: string,
  bytes: Uint8Array,
): { text: string; graphs: GraphModel[]; diagnostics: Diagnostic[] } {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return {
      text: lossyUtf8.decode(bytes),
      graphs: [],
      diagnostics: [
        {
          code: 'not-a-graph',
          source,
          path: '',
          message: `the file is not UTF-8 text (line ${String(firstBadLine(bytes))} holds bytes that are no UTF-8 character)`,
          hint: 'save the file as UTF-8',
        },
      ],
    };
  }
  return { text, ...loadGraphDocuments(source, text) };
}
