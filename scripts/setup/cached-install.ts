import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { cacheDir } from '../../src/runtime/cache-dir.ts';
import { formatElapsed } from '../../src/runtime/command-progress.ts';

/** One versioned install in the machine cache: `<cache>/<component>/<stamp>/`. */
export interface CachedInstall {
  readonly component: string;
  /** Every version that goes into the build, and the recipe's own revision: a bump rebuilds. */
  readonly stamp: string;
}

const completeMarker = '.complete.json';

export function installDir(install: CachedInstall): string {
  return join(cacheDir(), install.component, install.stamp);
}

export function isInstalled(install: CachedInstall): boolean {
  return existsSync(join(installDir(install), completeMarker));
}

/** The install's folder, or an error that says which setup command makes it. */
export function installedDir(install: CachedInstall): string {
  if (!isInstalled(install))
    throw new Error(
      `${install.component} (${install.stamp}) is not installed in ${cacheDir()}: ` +
        `run \`npm run setup -- ${install.component}\` (npm test runs it first).`,
    );
  return installDir(install);
}

export function say(component: string, text: string): void {
  process.stderr.write(`setup ${component}: ${text}\n`);
}

/** How long a lock holder may go without touching its lock before others take it over. */
const lockStaleMs = 60_000;
const waitReportMs = 30_000;

/**
 * Takes the component's lock in the cache folder, waiting (and saying so) while another holds
 * it; resolves to its release.
 */
export async function acquireLock(component: string): Promise<() => Promise<void>> {
  const root = cacheDir();
  await mkdir(root, { recursive: true });
  const lockPath = join(root, `${component}.lock`);
  const started = Date.now();
  let lastReport: number | undefined;
  for (;;) {
    try {
      // proper-lockfile keeps its locks by the locked path, so each component locks a path of
      // its own (the lock itself is that path plus .lock): setup holds several at once.
      return await lockfile.lock(join(root, component), {
        realpath: false,
        stale: lockStaleMs,
        onCompromised: (error) => {
          say(component, `lost the setup lock (${error.message}); another setup may be building`);
        },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    }
    if (lastReport === undefined || Date.now() - lastReport >= waitReportMs) {
      say(
        component,
        `another setup holds ${lockPath}; waiting (${formatElapsed(Date.now() - started)})`,
      );
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/**
 * Runs `work` while holding the component's lock, so two clones setting up at once build once:
 * the second waits, then finds the install complete. A holder that died stops refreshing its
 * lock, which goes stale and is taken over.
 */
export async function withComponentLock<T>(component: string, work: () => Promise<T>): Promise<T> {
  const release = await acquireLock(component);
  try {
    return await work();
  } finally {
    // A compromised lock was reported when it happened; releasing it then fails harmlessly.
    await release().catch(() => undefined);
  }
}

/** A scratch folder under the cache (same disk as the result), owned by the lock holder. */
export async function workDir(component: string): Promise<string> {
  const dir = join(cacheDir(), '.work', component);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Builds the install unless it is complete: under the component's lock, into its final folder
 * (emptied first, in case an earlier build died half way), with a scratch folder removed after;
 * a marker written last makes it complete. Resolves to whether it built.
 */
export async function ensureCached(
  install: CachedInstall,
  build: (dir: string, work: string) => Promise<void>,
): Promise<boolean> {
  if (isInstalled(install)) return false;
  return withComponentLock(install.component, async () => {
    if (isInstalled(install)) return false;
    const dir = installDir(install);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const work = await workDir(install.component);
    const started = Date.now();
    try {
      await build(dir, work);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    await writeFile(
      join(dir, completeMarker),
      `${JSON.stringify({ stamp: install.stamp, builtAt: new Date().toISOString(), buildMs: Date.now() - started })}\n`,
    );
    return true;
  });
}
