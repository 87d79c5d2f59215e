import { join } from 'node:path';
import { ensureCached, installedDir, say, type CachedInstall } from './cached-install.ts';
import { checkGo, go, goEnvironment } from './go-toolchain.ts';

export const helmVersion = 'v4.3.2';

const install: CachedInstall = { component: 'helm', stamp: `helm-${helmVersion}-r1` };

export function helmBinary(): string {
  return join(installedDir(install), 'bin', 'helm');
}

async function build(dir: string, work: string): Promise<void> {
  say(install.component, `go: ${await checkGo(install.component)}`);
  // helm's Makefile stamps its version the same way; without it `helm version` says v4.3.
  const ldflags = `-s -w -X helm.sh/helm/v4/internal/version.version=${helmVersion} -X helm.sh/helm/v4/internal/version.gitTreeState=clean`;
  await go(
    ['install', '-v', '-trimpath', '-ldflags', ldflags, `helm.sh/helm/v4/cmd/helm@${helmVersion}`],
    {
      label: `setup helm: go install helm ${helmVersion}`,
      cwd: work,
      env: goEnvironment(work, { GOBIN: join(dir, 'bin') }),
    },
  );
}

/** Helm, `go install`ed from the Go module proxy. */
export async function setupHelm(): Promise<string> {
  const built = await ensureCached(install, build);
  return `${built ? 'built' : 'cached'}: ${helmBinary()}`;
}
