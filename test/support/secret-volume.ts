import {
  existsSync,
  mkdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

let versions = 0;

/**
 * Writes `files` into `dir` the way the kubelet updates a Secret volume:
 * the files go into a fresh hidden directory, `..data` is swapped to it by
 * one rename, and each visible name is a symlink through `..data`. Every
 * file changes at once, so a reader never sees a new certificate with an old
 * key, and Envoy's watch on the directory sees the rename.
 */
export function projectSecret(dir: string, files: Readonly<Record<string, string>>): void {
  mkdirSync(dir, { recursive: true });
  const data = join(dir, '..data');
  const previous = existsSync(data) ? readlinkSync(data) : undefined;
  versions += 1;
  const version = `..${String(process.pid)}_${String(versions)}`;
  mkdirSync(join(dir, version));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, version, name), content);
  }
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), data);
  for (const name of Object.keys(files)) {
    if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name));
  }
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true });
}
