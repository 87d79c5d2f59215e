import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes the SDS files of `switchyard bootstrap`, each by a rename: Envoy
 * watches them for moves, so writing them again while it runs is seen whole.
 */
export async function writeSdsFiles(
  files: readonly { path: string; content: unknown }[],
): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${String(process.pid)}.tmp`;
    await writeFile(temporary, `${JSON.stringify(file.content, null, 2)}\n`);
    await rename(temporary, file.path);
  }
}
