import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GRAPH_TAG,
  graphStatName,
  NODE_TAG,
  nodeStatName,
  statsTags,
  virtualHostStatName,
} from '../../src/envoy/stat-names.ts';

/** Each tag's value and the part of the name its extractor cuts, as Envoy reads the regex. */
function tagsOf(statName: string): Record<string, { value: string; cut: string }> {
  const tags: Record<string, { value: string; cut: string }> = {};
  for (const { tag_name, regex } of statsTags) {
    const match = new RegExp(regex).exec(statName);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      tags[tag_name] = { cut: match[1], value: match[2] };
    }
  }
  return tags;
}

test("a node's cluster stats name its graph and node", () => {
  const name = `cluster.${nodeStatName('default/g.v2', 'm.1')}.upstream_rq_total`;
  assert.equal(name, 'cluster.switchyard/default/g%2Ev2/m%2E1.upstream_rq_total');
  assert.deepEqual(tagsOf(name), {
    [GRAPH_TAG]: { value: 'default/g%2Ev2', cut: 'default/g%2Ev2/' },
    [NODE_TAG]: { value: 'm%2E1', cut: 'm%2E1.' },
  });
});

test("a hop route's stats name its graph and node; a graph route's its graph only", () => {
  const hop = `vhost.hops.route.${nodeStatName('default/g', 'm')}.upstream_rq_time`;
  assert.deepEqual(tagsOf(hop), {
    [GRAPH_TAG]: { value: 'default/g', cut: 'default/g/' },
    [NODE_TAG]: { value: 'm', cut: 'm.' },
  });
  const vhost = virtualHostStatName('models.example.com');
  assert.equal(vhost, 'models%2Eexample%2Ecom');
  const graph = `vhost.${vhost}.route.${graphStatName('prod/fraud')}.upstream_rq_total`;
  assert.deepEqual(tagsOf(graph), {
    [GRAPH_TAG]: { value: 'prod/fraud', cut: 'prod/fraud.' },
  });
});

test('stats of anything else carry no tag of ours', () => {
  for (const name of [
    'cluster.executor.upstream_rq_total',
    'vhost.any-host.route.other.upstream_rq_total',
    'http.switchyard/default/g.downstream_rq_total',
  ]) {
    assert.deepEqual(tagsOf(name), {}, name);
  }
});
