import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { watchedNamespaces } from '../../src/sources/kubernetes/namespaces.ts';
import { WatchedResources } from '../../src/sources/kubernetes/watched-resources.ts';

// Never started: nothing here reaches an API server.
const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
  users: [{ name: 'u' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});

function watched(listed: readonly string[] | undefined) {
  return new WatchedResources<KubernetesObject>({
    kubeConfig,
    namespaces: watchedNamespaces(listed),
    plural: 'services',
    apiPath: '/api/v1',
    list: () => Promise.reject(new Error('not listed in this test')),
    onChange: () => undefined,
    log: () => undefined,
  });
}

test('a namespace is watched when it is listed, or when none are', () => {
  const some = watched(['models', 'team']);
  assert.equal(some.watches('models'), true);
  assert.equal(some.watches('team'), true);
  assert.equal(some.watches('other'), false);
  assert.deepEqual(some.list('other'), []);
  assert.equal(some.get('other', 'iris'), undefined);
  assert.equal(watched(undefined).watches('anything'), true);
});
