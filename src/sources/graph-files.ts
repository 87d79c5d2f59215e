import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GraphModel } from '../graph/model.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { partitionGraphSet } from '../spec/graph-set.ts';
import { loadGraphDocuments } from '../spec/load.ts';

export const graphFileExtensions = new Set(['.yaml', '.yml', '.json']);

/** A directory stands for its graph files (not its subdirectories), in name order. */
async function expand(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((entry) => !entry.isDirectory() && graphFileExtensions.has(extname(entry.name)))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(path, name));
}

function unreadable(source: string, error: unknown): Diagnostic {
  const code = (error as NodeJS.ErrnoException).code;
  return {
    code: 'not-a-graph',
    source,
    path: '',
    message: `cannot read it: ${code ?? (error instanceof Error ? error.message : String(error))}`,
    hint: 'check the path and its permissions',
  };
}

/**
 * Reads graph files, checks each and then all of them together. Graphs with
 * any problem, or that lose a conflict to an earlier one, are left out so the
 * rest can still be served; an unreadable file is a diagnostic too.
 */
export async function readGraphFiles(
  paths: readonly string[],
): Promise<{ graphs: GraphModel[]; diagnostics: Diagnostic[] }> {
  const graphs: GraphModel[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = await expand(path);
    } catch (error) {
      diagnostics.push(unreadable(path, error));
      continue;
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        diagnostics.push(unreadable(file, error));
        continue;
      }
      const loaded = loadGraphDocuments(file, text);
      graphs.push(...loaded.graphs);
      diagnostics.push(...loaded.diagnostics);
    }
  }
  const checked = partitionGraphSet(graphs);
  return { graphs: checked.accepted, diagnostics: [...diagnostics, ...checked.diagnostics] };
}
