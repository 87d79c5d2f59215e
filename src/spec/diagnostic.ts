/**
 * A problem in user input. Returned, never thrown: the spec layer reports
 * every problem of a document at once.
 */
export type DiagnosticCode =
  | 'yaml-syntax'
  | 'not-a-graph'
  | 'unknown-field'
  | 'missing-field'
  | 'wrong-type'
  | 'invalid-value'
  | 'invalid-duration'
  | 'invalid-address'
  | 'duplicate-name'
  | 'missing-entry'
  | 'dangling-reference'
  | 'cycle'
  | 'invalid-weights'
  | 'conflicting-route'
  | 'unsupported'
  /** A limit of Envoy's or the reader's: a regex too large, a plan header too long, nesting too deep. */
  | 'limit-exceeded';

export interface Diagnostic {
  code: DiagnosticCode;
  /** Where the document came from, e.g. "graphs/fraud.yaml". */
  source: string;
  /** Path into the document, e.g. "spec.nodes.split.routes[1].weight". */
  path: string;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  hint?: string;
}

/** `graphs/fraud.yaml: spec.nodes.split.routes[1].weight: must be > 0 (hint: ...)` */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const where =
    diagnostic.path === '' ? diagnostic.source : `${diagnostic.source}: ${diagnostic.path}`;
  const hint = diagnostic.hint === undefined ? '' : `\n    hint: ${diagnostic.hint}`;
  return `${where}: ${diagnostic.message}${hint}`;
}
