import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installedDir, type CachedInstall } from './cached-install.ts';

/**
 * The two base images the Dockerfile's arguments name, for the image test: Debian bookworm
 * (debootstrap, minbase) with this machine's Node 20, as rootfs tarballs in the machine cache
 * (scripts/setup/docker.ts builds them).
 */
export const suite = 'bookworm';
export const mirror = 'http://deb.debian.org/debian';
export const nodePrefix = dirname(dirname(process.execPath));

export const basesInstall: CachedInstall = {
  component: 'docker-bases',
  stamp: `${suite}-node${process.versions.node}-r1`,
};

export interface DockerBases {
  /** rootfs tarballs, for `docker import`. */
  readonly runtimeTar: string;
  readonly buildTar: string;
  /** The ENV both images get (`docker import --change`): this machine's trust and Node's headers. */
  readonly env: Readonly<Record<string, string>>;
  /** Names the images by what went into them, so a new recipe imports anew. */
  readonly stamp: string;
}

/**
 * The machine reaches the npm registry through a TLS proxy whose CA Node is told of by
 * NODE_EXTRA_CA_CERTS: the bases carry that file, at the same path, and the variable. npm's
 * node-gyp finds Node's headers by `nodedir` (it would download them otherwise).
 */
export function baseEnv(): Record<string, string> {
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  return {
    // Where addNode lays Node's headers out in the build base.
    npm_config_nodedir: '/usr',
    ...(ca !== undefined && existsSync(ca) && { NODE_EXTRA_CA_CERTS: ca }),
  };
}

export function dockerBases(): DockerBases {
  const dir = installedDir(basesInstall);
  return {
    runtimeTar: join(dir, 'runtime.tar'),
    buildTar: join(dir, 'build.tar'),
    // As the tarballs were made: the CA file they carry is the one named then.
    env: JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')) as Record<string, string>,
    stamp: basesInstall.stamp,
  };
}
