import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatElapsed } from '../../src/runtime/command-progress.ts';
import { ensureCached, installedDir, say, type CachedInstall } from './cached-install.ts';
import { checkGo, downloadModule, go, goEnvironment, writeWrapperModule } from './go-toolchain.ts';

export const etcdVersion = 'v3.6.16';
export const kubernetesVersion = 'v1.37.2';
/** The staging modules (k8s.io/api, ...) are published as v0.<minor>.<patch>. */
const stagingVersion = kubernetesVersion.replace(/^v1\./, 'v0.');

const install: CachedInstall = {
  component: 'kubernetes',
  stamp: `kube-${kubernetesVersion}-etcd-${etcdVersion}-r1`,
};

export interface KubernetesBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
}

export function kubernetesBinaries(): KubernetesBinaries {
  const bin = join(installedDir(install), 'bin');
  return {
    etcd: join(bin, 'etcd'),
    kubeApiserver: join(bin, 'kube-apiserver'),
    kubeControllerManager: join(bin, 'kube-controller-manager'),
  };
}

/**
 * k8s.io/kubernetes points each staging module at a folder of its own repository; outside it,
 * each must point at the published module instead. The list is read from its go.mod so a
 * version bump needs no edit here.
 */
export function stagingModules(kubernetesGoMod: string): string[] {
  const modules = [...kubernetesGoMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)]
    .map((match) => match[1])
    .filter((name): name is string => name !== undefined);
  if (modules.length === 0) throw new Error('k8s.io/kubernetes go.mod lists no staging modules');
  return modules;
}

const versionLdflags = [
  `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
  `-X k8s.io/component-base/version.gitMajor=${kubernetesVersion.split('.')[0]?.slice(1) ?? ''}`,
  `-X k8s.io/component-base/version.gitMinor=${kubernetesVersion.split('.')[1] ?? ''}`,
  '-X k8s.io/component-base/version.gitTreeState=clean',
].join(' ');

async function build(dir: string, work: string): Promise<void> {
  say(install.component, `go: ${await checkGo(install.component)}`);
  const env = goEnvironment(work);
  const bin = join(dir, 'bin');
  const started = Date.now();
  const step = (what: string): string => `setup kubernetes: ${what}`;

  const etcdModule = join(work, 'etcd');
  await mkdir(etcdModule);
  await writeWrapperModule(
    etcdModule,
    `module switchyard.test/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 ${etcdVersion}\n`,
    ['go.etcd.io/etcd/server/v3'],
  );
  const inEtcd = { cwd: etcdModule, env };
  await go(['mod', 'tidy'], { ...inEtcd, label: step(`resolving etcd ${etcdVersion}'s modules`) });
  await go(
    [
      'build',
      '-v',
      '-trimpath',
      '-ldflags',
      '-s -w',
      '-o',
      join(bin, 'etcd'),
      'go.etcd.io/etcd/server/v3',
    ],
    { ...inEtcd, label: step(`go build etcd ${etcdVersion}`) },
  );
  say(install.component, `etcd built (${formatElapsed(Date.now() - started)} so far)`);

  const kubeModule = join(work, 'kube');
  await mkdir(kubeModule);
  const inKube = { cwd: kubeModule, env };
  const kubernetes = await downloadModule(`k8s.io/kubernetes@${kubernetesVersion}`, {
    ...inKube,
    label: step(`downloading k8s.io/kubernetes ${kubernetesVersion}`),
  });
  const staging = stagingModules(await readFile(kubernetes.goMod, 'utf8'));
  say(install.component, `${String(staging.length)} staging modules at ${stagingVersion}`);
  await writeWrapperModule(
    kubeModule,
    [
      'module switchyard.test/kubernetes',
      '',
      'go 1.26',
      '',
      `require k8s.io/kubernetes ${kubernetesVersion}`,
      '',
      'replace (',
      ...staging.map((name) => `\t${name} => ${name} ${stagingVersion}`),
      ')',
      '',
    ].join('\n'),
    ['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kube-controller-manager'],
  );
  await go(['mod', 'tidy'], { ...inKube, label: step("resolving Kubernetes' modules") });
  for (const command of ['kube-apiserver', 'kube-controller-manager']) {
    await go(
      [
        'build',
        '-v',
        '-trimpath',
        '-ldflags',
        `-s -w ${versionLdflags}`,
        '-o',
        join(bin, command),
        `k8s.io/kubernetes/cmd/${command}`,
      ],
      { ...inKube, label: step(`go build ${command} ${kubernetesVersion}`) },
    );
    say(install.component, `${command} built (${formatElapsed(Date.now() - started)} so far)`);
  }
}

/** etcd, kube-apiserver and kube-controller-manager, built from the Go module proxy. */
export async function setupKubernetes(): Promise<string> {
  const built = await ensureCached(install, build);
  const binaries = kubernetesBinaries();
  return `${built ? 'built' : 'cached'}: ${binaries.kubeApiserver} (etcd ${etcdVersion}, Kubernetes ${kubernetesVersion})`;
}
