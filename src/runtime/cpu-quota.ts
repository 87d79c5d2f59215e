import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The CPUs this process may use by its cgroup's CPU quota (a container's CPU
 * limit), or undefined when it has none. Node counts the machine's cores
 * only, so an executor in a pod limited to 2 CPUs on a 64-core node would
 * otherwise start 64 workers and have them throttled.
 *
 * `root` is where cgroup and proc files are found ("/" outside tests).
 */
export function cgroupCpuQuota(root = '/'): number | undefined {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(join(root, path), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  // "hierarchy-id:controllers:path", one line per hierarchy; "0::path" is cgroup v2.
  const memberships = (read('proc/self/cgroup') ?? '')
    .split('\n')
    .map((line) => /^(\d+):([^:]*):(.*)$/.exec(line))
    .filter((match) => match !== null);
  // The process's own cgroup first; inside a container its cgroup is often mounted as the root.
  const candidates = (hierarchy: string, isIt: (id: string, controllers: string[]) => boolean) => {
    const own = memberships.find(([, id = '', controllers = '']) =>
      isIt(id, controllers.split(',')),
    )?.[3];
    return own && own !== '/' ? [join(hierarchy, own), hierarchy] : [hierarchy];
  };

  for (const dir of candidates('sys/fs/cgroup', (id) => id === '0')) {
    const max = read(join(dir, 'cpu.max'));
    if (max === undefined) continue;
    const [quota, period] = max.split(/\s+/);
    return quotaCpus(quota, period);
  }
  for (const hierarchy of ['sys/fs/cgroup/cpu,cpuacct', 'sys/fs/cgroup/cpu']) {
    for (const dir of candidates(hierarchy, (_id, controllers) => controllers.includes('cpu'))) {
      const quota = read(join(dir, 'cpu.cfs_quota_us'));
      if (quota === undefined) continue;
      return quotaCpus(quota, read(join(dir, 'cpu.cfs_period_us')));
    }
  }
  return undefined;
}

/** A quota over a period, in CPUs; "max" or -1 (no quota), or anything unreadable, is none. */
function quotaCpus(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return undefined;
  return q / p;
}
