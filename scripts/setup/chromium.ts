import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { runWithProgress } from '../../src/runtime/command-progress.ts';
import { say, withComponentLock } from './cached-install.ts';

const run = promisify(execFile);

/** Debian's Chromium, driven by playwright-core (whose own browser download cannot work here). */
export const chromiumPath = '/usr/bin/chromium';

async function chromiumVersion(): Promise<string | undefined> {
  if (!existsSync(chromiumPath)) return undefined;
  try {
    return (await run(chromiumPath, ['--version'], { timeout: 60_000 })).stdout.trim();
  } catch {
    return undefined;
  }
}

const manualInstall = 'install it as root: apt-get install chromium';

async function aptInstall(): Promise<void> {
  if (!existsSync('/usr/bin/apt-get'))
    throw new Error(
      `${chromiumPath} is missing and apt-get is not available; ${manualInstall}, or a Chromium at ${chromiumPath}.`,
    );
  if (process.getuid?.() !== 0)
    throw new Error(`${chromiumPath} is missing and installing it needs root; ${manualInstall}.`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt (unattended upgrades, a second clone) may hold dpkg's lock for a while.
  const waitForDpkg = ['-o', 'DPkg::Lock::Timeout=600'];
  await runWithProgress('apt-get', [...waitForDpkg, 'update'], {
    label: 'setup chromium: apt-get update',
    env,
  });
  await runWithProgress('apt-get', [...waitForDpkg, 'install', '-y', 'chromium'], {
    label: 'setup chromium: apt-get install chromium',
    env,
    timeoutMs: 1_800_000,
  });
}

/** Debian's chromium package, installed with apt-get when missing; a system package, not in the cache. */
export async function setupChromium(): Promise<string> {
  const present = await chromiumVersion();
  if (present !== undefined) return `present: ${present}`;
  await withComponentLock('chromium', async () => {
    if ((await chromiumVersion()) !== undefined) return;
    say('chromium', `${chromiumPath} missing; installing Debian's chromium with apt-get`);
    await aptInstall();
  });
  const installed = await chromiumVersion();
  if (installed === undefined)
    throw new Error(`apt-get installed chromium but ${chromiumPath} does not run.`);
  return `installed: ${installed}`;
}
