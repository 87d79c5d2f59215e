import { isMap, isNode, isPair, isScalar, isSeq, parseAllDocuments, type Document } from 'yaml';
import type { Diagnostic } from './diagnostic.ts';
import { nestingProblem } from './nesting.ts';
import { formatPath, type PathSegment } from './paths.ts';

export interface ParsedDocument {
  /** The document as plain data; undefined when it could not be read, null when it is empty. */
  readonly value: unknown;
  readonly diagnostics: Diagnostic[];
  /** Where each key and list item starts in the text, by path: problems are listed in this order. */
  readonly positions: ReadonlyMap<string, number>;
}

/** A mapping key as the plain-data conversion writes it. */
function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function syntaxDiagnostic(source: string, message: string): Diagnostic {
  return {
    code: 'yaml-syntax',
    source,
    path: '',
    message,
    hint: 'fix the YAML syntax (indentation, quotes, colons) at that position',
  };
}

/**
 * Records positions and finds repeated keys. YAML parsers let the last of two
 * equal keys win, which would silently drop a node that shares its name with
 * another.
 */
function walk(
  source: string,
  node: unknown,
  path: readonly PathSegment[],
  positions: Map<string, number>,
  diagnostics: Diagnostic[],
): void {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = keyText(item.key);
      const childPath = [...path, key];
      const at = formatPath(childPath);
      if (isNode(item.key) && item.key.range) positions.set(at, item.key.range[0]);
      if (seen.has(key)) {
        const isNodeName = path.length === 2 && path[0] === 'spec' && path[1] === 'nodes';
        diagnostics.push({
          code: 'duplicate-name',
          source,
          path: at,
          message: `duplicate ${isNodeName ? 'node name' : 'key'} "${key}"`,
          hint: isNodeName
            ? 'each node needs its own name: rename or remove one of them'
            : 'each key of a mapping must be unique: remove one of them',
        });
      }
      seen.add(key);
      walk(source, item.value, childPath, positions, diagnostics);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      const childPath = [...path, index];
      if (isNode(item) && item.range) positions.set(formatPath(childPath), item.range[0]);
      walk(source, item, childPath, positions, diagnostics);
    });
  }
}

function readDocument(source: string, document: Document.Parsed): ParsedDocument {
  const positions = new Map<string, number>();
  const diagnostics: Diagnostic[] = document.errors.map((error) => {
    const position = error.linePos?.[0];
    const where = position ? `line ${String(position.line)}, column ${String(position.col)}: ` : '';
    const first = error.message.split('\n')[0] ?? '';
    return syntaxDiagnostic(source, `${where}${first.replace(/ at line \d+, column \d+:?$/, '')}`);
  });
  if (diagnostics.length > 0) return { value: undefined, diagnostics, positions };
  walk(source, document.contents, [], positions, diagnostics);
  try {
    // Aliases may be unresolvable or multiply into a huge value ("billion laughs").
    const value = document.toJS({ maxAliasCount: 100 }) as unknown;
    return { value, diagnostics, positions };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { value: undefined, diagnostics: [syntaxDiagnostic(source, message)], positions };
  }
}

/** Splits a YAML (or JSON) text into documents; syntax errors become diagnostics with line and column. */
export function parseDocuments(source: string, text: string): ParsedDocument[] {
  const tooDeep = nestingProblem(source, text);
  if (tooDeep) return [{ value: undefined, diagnostics: [tooDeep], positions: new Map() }];
  let documents: Document.Parsed[];
  try {
    documents = [
      ...parseAllDocuments(text, {
        uniqueKeys: false,
        prettyErrors: true,
        // YAML 1.1's merge keys ("<<: *defaults"), a common way to share settings between nodes.
        merge: true,
        // Warnings would go to the process's stderr; every problem is a diagnostic instead.
        logLevel: 'silent',
      }),
    ];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return [
      { value: undefined, diagnostics: [syntaxDiagnostic(source, message)], positions: new Map() },
    ];
  }
  return documents.map((document) => readDocument(source, document));
}
