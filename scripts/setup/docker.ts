import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatElapsed, runWithProgress } from '../../src/runtime/command-progress.ts';
import { ensureCached, installedDir, say, withComponentLock } from './cached-install.ts';
import { baseEnv, basesInstall, mirror, nodePrefix, suite } from './docker-bases.ts';
import { buildImage, startDockerEngine } from './docker-engine.ts';

/**
 * What the image test needs: Debian's Docker engine, and the two base images the Dockerfile's
 * arguments name, assembled here since no registry of images can be reached: Debian bookworm
 * (debootstrap, minbase) with this machine's Node 20 — the runtime base with node alone, the
 * build base with npm, Node's headers, a C++ compiler, make and python3 (as node:20-bookworm-slim
 * and node:20-bookworm have them).
 */
const tools = ['/usr/sbin/dockerd', '/usr/sbin/debootstrap'];
const manualInstall = 'install them as root: apt-get install docker.io debootstrap';

/** Debian's docker.io (dockerd, containerd, runc) and debootstrap, with apt-get when missing. */
async function ensurePackages(): Promise<void> {
  if (tools.every((tool) => existsSync(tool))) return;
  await withComponentLock('docker-packages', async () => {
    if (tools.every((tool) => existsSync(tool))) return;
    if (!existsSync('/usr/bin/apt-get') || process.getuid?.() !== 0)
      throw new Error(
        `${tools.join(' or ')} is missing and cannot be installed here; ${manualInstall}.`,
      );
    say('docker', 'installing docker.io and debootstrap with apt-get');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const waitForDpkg = ['-o', 'DPkg::Lock::Timeout=600'];
    await runWithProgress('apt-get', [...waitForDpkg, 'update'], {
      label: 'setup docker: apt-get update',
      env,
    });
    await runWithProgress(
      'apt-get',
      [...waitForDpkg, 'install', '-y', '--no-install-recommends', 'docker.io', 'debootstrap'],
      { label: 'setup docker: apt-get install docker.io debootstrap', env, timeoutMs: 1_800_000 },
    );
  });
}

/** Node as its Debian package lays it out: the binary, and for a build also npm and the headers. */
async function addNode(rootfs: string, withNpm: boolean): Promise<void> {
  await mkdir(join(rootfs, 'usr', 'bin'), { recursive: true });
  await copyFile(process.execPath, join(rootfs, 'usr', 'bin', 'node'));
  const ca = baseEnv().NODE_EXTRA_CA_CERTS;
  if (ca !== undefined) {
    await mkdir(join(rootfs, dirname(ca)), { recursive: true });
    await copyFile(ca, join(rootfs, ca));
  }
  if (!withNpm) return;
  for (const part of [join('lib', 'node_modules', 'npm'), join('include', 'node')])
    await cp(join(nodePrefix, part), join(rootfs, 'usr', part), { recursive: true });
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr', 'bin', 'npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr', 'bin', 'npx'));
}

async function debootstrap(target: string, packages: readonly string[]): Promise<void> {
  await runWithProgress(
    'debootstrap',
    [
      '--variant=minbase',
      ...(packages.length > 0 ? [`--include=${packages.join(',')}`] : []),
      suite,
      target,
      mirror,
    ],
    { label: `setup docker: debootstrap ${[suite, ...packages].join(' ')}`, timeoutMs: 1_800_000 },
  );
}

async function tarball(rootfs: string, file: string): Promise<void> {
  await runWithProgress('tar', ['--numeric-owner', '-C', rootfs, '-cf', file, '.'], {
    label: `setup docker: tar ${file}`,
  });
}

async function build(dir: string, work: string): Promise<void> {
  const runtime = join(work, 'runtime');
  await debootstrap(runtime, []);
  await addNode(runtime, false);
  await tarball(runtime, join(dir, 'runtime.tar'));
  const builder = join(work, 'build');
  await debootstrap(builder, ['g++', 'make', 'python3']);
  await addNode(builder, true);
  await tarball(builder, join(dir, 'build.tar'));
  await writeFile(join(dir, 'env.json'), `${JSON.stringify(baseEnv(), null, 2)}\n`);
}

/**
 * Docker's engine from apt, the image test's two base images as rootfs tarballs, and the
 * engine's build cache warmed with the Dockerfile's `deps` stage (npm ci, which compiles the RE2
 * addon: minutes on 2 cores, more than a test may take), which the image test's build then
 * reuses while package-lock.json and the addon's sources stay the same.
 */
export async function setupDocker(): Promise<string> {
  await ensurePackages();
  const built = await ensureCached(basesInstall, build);
  const engine = await startDockerEngine();
  try {
    const { elapsedMs } = await buildImage(engine, {
      target: 'deps',
      tag: 'switchyard-build/deps:current',
      label: 'setup docker: docker build --target deps (npm ci and the RE2 addon)',
    });
    return `${built ? 'built' : 'cached'}: ${installedDir(basesInstall)}; the Dockerfile's deps stage in ${formatElapsed(elapsedMs)}`;
  } finally {
    await engine.stop();
  }
}
