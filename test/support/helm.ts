import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { helmBinary } from '../../scripts/setup/helm.ts';

const run = promisify(execFile);

/**
 * Runs the cached helm with its config, cache and data folders in a fresh temporary folder, so
 * nothing of the machine's Helm state (repositories, plugins) leaks in. `kubeconfig` points it
 * at a test cluster. Resolves to stdout; a non-zero exit rejects with stderr.
 */
export async function runHelm(
  args: readonly string[],
  options: { kubeconfig?: string; cwd?: string } = {},
): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'switchyard-helm-'));
  try {
    const { stdout } = await run(helmBinary(), args, {
      cwd: options.cwd,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_DATA_HOME: join(home, 'data'),
        ...(options.kubeconfig !== undefined && { KUBECONFIG: options.kubeconfig }),
      },
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`helm ${args.join(' ')} failed: ${(error as Error).message}\n${stderr}`);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
