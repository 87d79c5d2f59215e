import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GraphModel } from '../graph/model.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { partitionGraphSet } from '../graph/graph-set.ts';
import { loadGraphFile } from '../graph/load.ts';

export const graphFileExtensions = new Set(['.yaml', '.yml', '.json']);

const extensionList = [...graphFileExtensions].join(', ');

/** A directory stands for its graph files (not its subdirectories), in name order. */
async function expand(path: string): Promise<string[] | Diagnostic> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const files = entries
    .filter((entry) => !entry.isDirectory() && graphFileExtensions.has(extname(entry.name)))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(path, name));
  if (files.length > 0) return files;
  // An empty or mistyped directory would otherwise pass as "0 graphs, all valid".
  const subdirectories = entries.filter((entry) => entry.isDirectory()).length;
  return {
    code: 'not-a-graph',
    source: path,
    path: '',
    message: `the directory holds no graph files (${extensionList})`,
    hint:
      subdirectories > 0
        ? 'subdirectories are not read: name the directory that holds the graph files'
        : 'check the path',
  };
}

function unreadable(source: string, error: unknown): Diagnostic {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return {
      code: 'not-a-graph',
      source,
      path: '',
      message: 'no such file or directory',
      hint: 'check the path',
    };
  }
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
      const found = await expand(path);
      if (!Array.isArray(found)) {
        diagnostics.push(found);
        continue;
      }
      files = found;
    } catch (error) {
      diagnostics.push(unreadable(path, error));
      continue;
    }
    for (const file of files) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        diagnostics.push(unreadable(file, error));
        continue;
      }
      const loaded = loadGraphFile(file, bytes);
      graphs.push(...loaded.graphs);
      diagnostics.push(...loaded.diagnostics);
    }
  }
  const checked = partitionGraphSet(graphs);
  return { graphs: checked.accepted, diagnostics: [...diagnostics, ...checked.diagnostics] };
}
