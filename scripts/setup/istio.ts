import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCached, installedDir, type CachedInstall } from './cached-install.ts';
import { downloadModule, goEnvironment } from './go-toolchain.ts';

/** Istio's API release whose CRDs the examples are checked against. */
export const istioApiVersion = 'v1.32.0';

const install: CachedInstall = { component: 'istio', stamp: `api-${istioApiVersion}-r1` };

/** Istio's CRDs (Gateway, VirtualService and the rest) as one YAML stream. */
export function istioCrds(): string {
  return join(installedDir(install), 'customresourcedefinitions.gen.yaml');
}

/** The YAML ships inside the istio.io/api Go module, as Istio's own charts take it. */
async function build(dir: string, work: string): Promise<void> {
  const module = await downloadModule(`istio.io/api@${istioApiVersion}`, {
    label: `setup istio: go mod download istio.io/api@${istioApiVersion}`,
    cwd: work,
    env: goEnvironment(work),
  });
  await copyFile(
    join(module.dir, 'kubernetes', 'customresourcedefinitions.gen.yaml'),
    join(dir, 'customresourcedefinitions.gen.yaml'),
  );
}

/** Istio's CRDs, from the istio.io/api Go module. */
export async function setupIstio(): Promise<string> {
  const built = await ensureCached(install, build);
  return `${built ? 'fetched' : 'cached'}: ${istioCrds()}`;
}
