import { formatDiagnostic, type Diagnostic } from '../spec/diagnostic.ts';

/** Diagnostics go to stderr, one block each, so stdout stays machine-readable. */
export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const diagnostic of diagnostics) process.stderr.write(`${formatDiagnostic(diagnostic)}\n`);
}
