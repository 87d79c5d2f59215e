import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensureCached, installedDir, type CachedInstall } from './cached-install.ts';
import { downloadModule, goEnvironment } from './go-toolchain.ts';

/** The newest release whose go.mod the machine's Go 1.26 accepts (v1.7.0 asks for Go 1.27). */
export const gatewayApiVersion = 'v1.6.3';

const install: CachedInstall = { component: 'gateway-api', stamp: `${gatewayApiVersion}-r1` };

/** The standard channel's CRDs (and its safe-upgrades admission policy) as one YAML stream. */
export function gatewayApiStandardInstall(): string {
  return join(installedDir(install), 'standard-install.yaml');
}

/**
 * The YAML ships inside the Go module; its kustomization lists the standard channel's files in
 * the order the release's standard-install.yaml concatenates them.
 */
async function build(dir: string, work: string): Promise<void> {
  const module = await downloadModule(`sigs.k8s.io/gateway-api@${gatewayApiVersion}`, {
    label: `setup gateway-api: go mod download sigs.k8s.io/gateway-api@${gatewayApiVersion}`,
    cwd: work,
    env: goEnvironment(work),
  });
  const crdDir = join(module.dir, 'config', 'crd');
  const kustomization = parse(await readFile(join(crdDir, 'kustomization.yaml'), 'utf8')) as {
    resources?: string[];
  };
  const files = (kustomization.resources ?? []).filter((file) => file.startsWith('standard/'));
  if (files.length === 0) throw new Error(`${crdDir}/kustomization.yaml lists no standard files`);
  await mkdir(join(dir, 'standard'));
  const documents: string[] = [];
  for (const file of files) {
    const text = await readFile(join(crdDir, file), 'utf8');
    await copyFile(join(crdDir, file), join(dir, file));
    documents.push(text.trimEnd());
  }
  await writeFile(join(dir, 'standard-install.yaml'), `${documents.join('\n---\n')}\n`);
}

/** Gateway API's standard CRDs, from the sigs.k8s.io/gateway-api Go module. */
export async function setupGatewayApi(): Promise<string> {
  const built = await ensureCached(install, build);
  return `${built ? 'fetched' : 'cached'}: ${gatewayApiStandardInstall()}`;
}
