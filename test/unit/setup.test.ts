import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatElapsed } from '../../src/runtime/command-progress.ts';
import { stagingModules } from '../../scripts/setup/kubernetes.ts';

test("setup reads Kubernetes' staging modules from the replace block of its go.mod", () => {
  const goMod = [
    'module k8s.io/kubernetes',
    '',
    'require (',
    '\tk8s.io/api v0.0.0',
    '\tsigs.k8s.io/yaml v1.6.0',
    ')',
    '',
    'replace (',
    '\tk8s.io/api => ./staging/src/k8s.io/api',
    '\tk8s.io/cri-client => ./staging/src/k8s.io/cri-client',
    '\tk8s.io/kube-controller-manager => ./staging/src/k8s.io/kube-controller-manager',
    ')',
    '',
  ].join('\n');
  assert.deepEqual(stagingModules(goMod), [
    'k8s.io/api',
    'k8s.io/cri-client',
    'k8s.io/kube-controller-manager',
  ]);
  assert.throws(() => stagingModules('module x\n'), /no staging modules/);
});

test('progress lines show elapsed time in ms, seconds, then minutes and seconds', () => {
  assert.equal(formatElapsed(850), '850ms');
  assert.equal(formatElapsed(12_345), '12.3s');
  assert.equal(formatElapsed(245_000), '4m05s');
});
