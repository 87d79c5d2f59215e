import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { cgroupCpuQuota } from '../../src/runtime/cpu-quota.ts';

/** A fake root holding the given files, for one call. */
function quotaWith(files: Record<string, string>): number | undefined {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-cgroup-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return cgroupCpuQuota(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('cgroup v2: a limit in cpu.max, of the own cgroup or the mounted root', () => {
  assert.equal(
    quotaWith({
      'proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      'sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '250000 100000\n',
    }),
    2.5,
  );
  assert.equal(
    quotaWith({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '50000 100000\n' }),
    0.5,
  );
  assert.equal(
    quotaWith({
      'proc/self/cgroup': '0::/outside/the/namespace\n',
      'sys/fs/cgroup/cpu.max': '200000 100000\n',
    }),
    2,
  );
});

test('cgroup v1: cfs quota over period, under cpu or cpu,cpuacct', () => {
  assert.equal(
    quotaWith({
      'proc/self/cgroup': '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n',
      'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '300000\n',
      'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    }),
    3,
  );
  assert.equal(
    quotaWith({
      'proc/self/cgroup': '1:cpu:/\n',
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000\n',
      'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    }),
    1,
  );
});

test('no limit: "max", -1, or no cgroup files at all', () => {
  assert.equal(
    quotaWith({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': 'max 100000\n' }),
    undefined,
  );
  assert.equal(
    quotaWith({
      'proc/self/cgroup': '1:cpu:/\n',
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    }),
    undefined,
  );
  assert.equal(quotaWith({}), undefined);
});
