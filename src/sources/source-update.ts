import type { GraphModel } from '../graph/model.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';

/**
 * What a source says of one of its units (a graph file; next, a custom
 * resource): its current version, or that it is gone. Sources report only
 * what is there now; which version is served, and what to do about a
 * version with problems, is the controller's to decide.
 *
 * `unit` names the unit as its graphs' and problems' `source` does: a
 * file's path, a resource's "namespace/name".
 */
export type SourceUpdate =
  | {
      readonly unit: string;
      /** The graphs the current version holds; none are served while it has problems. */
      readonly graphs: readonly GraphModel[];
      /** The current version's problems on its own (spec, graph); empty when it has none. */
      readonly diagnostics: readonly Diagnostic[];
    }
  | { readonly unit: string; readonly removed: true };
