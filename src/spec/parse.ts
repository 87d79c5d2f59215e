import { isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Diagnostic } from './diagnostic.ts';
import { formatPath, type PathSegment } from './paths.ts';

export interface ParsedDocument {
  /** The document as plain data, or undefined when it could not be read. */
  readonly value: unknown;
  readonly diagnostics: Diagnostic[];
}

/**
 * Finds repeated keys in every mapping. YAML parsers let the last one win,
 * which would silently drop a node that shares its name with another.
 */
function duplicateKeys(
  source: string,
  node: unknown,
  path: PathSegment[],
  out: Diagnostic[],
): void {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
      const childPath = [...path, key];
      if (seen.has(key)) {
        const what =
          path.length === 2 && path[0] === 'spec' && path[1] === 'nodes' ? 'node name' : 'key';
        out.push({
          code: 'duplicate-name',
          source,
          path: formatPath(childPath),
          message: `duplicate ${what} "${key}"`,
          hint: 'every key of a mapping must be unique; rename or remove one of them',
        });
      }
      seen.add(key);
      duplicateKeys(source, item.value, childPath, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      duplicateKeys(source, item, [...path, index], out);
    });
  }
}

/** Splits a YAML (or JSON) text into documents; syntax errors become diagnostics with line and column. */
export function parseDocuments(source: string, text: string): ParsedDocument[] {
  const documents = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: true });
  const list = Array.isArray(documents) ? documents : [];
  return list.map((document) => {
    const diagnostics: Diagnostic[] = document.errors.map((error) => {
      const position = error.linePos?.[0];
      const where = position
        ? `line ${String(position.line)}, column ${String(position.col)}: `
        : '';
      return {
        code: 'yaml-syntax',
        source,
        path: '',
        message: `${where}${(error.message.split('\n')[0] ?? 'YAML syntax error').replace(/ at line \d+, column \d+:?$/, '')}`,
        hint: 'fix the YAML syntax (indentation, quotes, colons) at that position',
      };
    });
    if (diagnostics.length > 0) return { value: undefined, diagnostics };
    duplicateKeys(source, document.contents, [], diagnostics);
    return { value: document.toJS({ maxAliasCount: 100 }) as unknown, diagnostics };
  });
}
