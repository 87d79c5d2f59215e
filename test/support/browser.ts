import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumPath } from '../../scripts/setup/chromium.ts';

/** Debian's Chromium, headless, with a profile of its own that is deleted on close. */
export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Flags the machine needs: no sandbox as root, and no background connections (the closed network
 * refuses them, many at a time, and Chromium would otherwise look up Google's hosts at start).
 */
const chromiumFlags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchTestBrowser(): Promise<TestBrowser> {
  if (!existsSync(chromiumPath))
    throw new Error(
      `${chromiumPath} is missing: run \`npm run setup -- chromium\` (npm test runs it first).`,
    );
  const profile = await mkdtemp(join(tmpdir(), 'switchyard-chromium-'));
  try {
    // A persistent context is how Playwright takes a --user-data-dir of ours.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumFlags,
      timeout: 60_000,
    });
    return {
      context,
      newPage: () => context.newPage(),
      async close() {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

/** Where tests keep screenshots and other artifacts: .tmp/test-artifacts (ignored by git). */
export async function artifactPath(file: string): Promise<string> {
  const dir = join(import.meta.dirname, '..', '..', '.tmp', 'test-artifacts');
  await mkdir(dir, { recursive: true });
  return join(dir, file);
}
