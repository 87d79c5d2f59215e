import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The machine-level folder for installed tools (Envoy, the Kubernetes binaries, the
 * Python servers...): outside the clone, so a fresh clone and every CI run on the same
 * machine reuse what an earlier one built.
 */
export function cacheDir(): string {
  const explicit = process.env.SWITCHYARD_CACHE;
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache');
  return join(base, 'switchyard');
}
