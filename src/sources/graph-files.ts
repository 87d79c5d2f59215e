import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { loadGraphFile } from '../graph/load.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import type { SourceUpdate } from './source-update.ts';

export const graphFileExtensions = new Set(['.yaml', '.yml', '.json']);

const extensionList = [...graphFileExtensions].join(', ');

/** A path's one problem, as the unit the path names. */
function problem(source: string, message: string, hint: string): SourceUpdate {
  const diagnostic: Diagnostic = { code: 'not-a-graph', source, path: '', message, hint };
  return { unit: source, graphs: [], diagnostics: [diagnostic] };
}

/** A directory stands for its graph files (not its subdirectories), in name order. */
async function expand(path: string): Promise<string[] | SourceUpdate> {
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
  return problem(
    path,
    `the directory holds no graph files (${extensionList})`,
    subdirectories > 0
      ? 'subdirectories are not read: name the directory that holds the graph files'
      : 'check the path',
  );
}

function unreadable(source: string, error: unknown): SourceUpdate {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return problem(source, 'no such file or directory', 'check the path');
  return problem(
    source,
    `cannot read it: ${code ?? (error instanceof Error ? error.message : String(error))}`,
    'check the path and its permissions',
  );
}

/**
 * Reads graph files once: each file's graphs, or its problems, in the order
 * given (a directory's files in name order). A path that cannot be read, or
 * a directory without graph files, is a unit with a problem too.
 */
export async function readGraphFiles(paths: readonly string[]): Promise<SourceUpdate[]> {
  const updates: SourceUpdate[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      const found = await expand(path);
      if (!Array.isArray(found)) {
        updates.push(found);
        continue;
      }
      files = found;
    } catch (error) {
      updates.push(unreadable(path, error));
      continue;
    }
    for (const file of files) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        updates.push(unreadable(file, error));
        continue;
      }
      const { graphs, diagnostics } = loadGraphFile(file, bytes);
      updates.push({ unit: file, graphs, diagnostics });
    }
  }
  return updates;
}
