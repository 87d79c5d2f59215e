import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GraphModel } from '../graph/model.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { checkGraphSet } from '../spec/graph-set.ts';
import { loadGraphDocuments } from '../spec/load.ts';

export const graphFileExtensions = new Set(['.yaml', '.yml', '.json']);

async function expand(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path);
  return entries
    .filter((name) => graphFileExtensions.has(extname(name)))
    .sort()
    .map((name) => join(path, name));
}

function unreadable(source: string, error: unknown): Diagnostic {
  return {
    code: 'not-a-graph',
    source,
    path: '',
    message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    hint: 'check the path and its permissions',
  };
}

/**
 * Reads graph files (a directory stands for its graph files), checks each and
 * then all of them together. Graphs with any problem are left out, so the
 * rest can still be served; unreadable files are diagnostics too.
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
  const checked = checkGraphSet(graphs);
  return { graphs: checked.accepted, diagnostics: [...diagnostics, ...checked.diagnostics] };
}
