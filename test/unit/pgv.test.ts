import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateResource, type Violation } from '../../src/protos/pgv/validate.ts';
import { typed } from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { durationNanos, numberCheck, stringCheck } from '../../src/protos/pgv/scalar-checks.ts';

const root = envoyProtos();
const cluster = (body: Record<string, unknown>) => ({
  '@type': typed('envoy.config.cluster.v3.Cluster'),
  name: 'c',
  ...body,
});
const routes = (route: Record<string, unknown>) => ({
  '@type': typed('envoy.config.route.v3.RouteConfiguration'),
  name: 'r',
  virtual_hosts: [{ name: 'v', domains: ['*'], routes: [route] }],
});
const toCluster = { route: { cluster: 'c' } };
const at = 'RouteConfiguration.virtual_hosts[0].routes[0]';

function only(violations: Violation[]): Omit<Violation, 'message'> {
  assert.equal(violations.length, 1, JSON.stringify(violations));
  const [violation] = violations;
  assert.ok(violation);
  return { path: violation.path, rule: violation.rule };
}

test('every resource the golden cases compile to passes Envoy’s rules', () => {
  const dir = join(import.meta.dirname, '..', 'golden', 'cases');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const sections = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<
      string,
      Record<string, unknown>[]
    >;
    for (const resource of Object.values(sections).flat()) {
      assert.deepEqual(validateResource(root, resource), [], `${file}: ${String(resource.name)}`);
    }
  }
});

test('string min_len: an empty cluster name', () => {
  assert.deepEqual(only(validateResource(root, cluster({ name: '' }))), {
    path: 'Cluster.name',
    rule: 'string.min_len',
  });
});

test('string well_known_regex: a header name with a newline', () => {
  const route = {
    match: { prefix: '/', headers: [{ name: 'x\ny', present_match: true }] },
    ...toCluster,
  };
  assert.deepEqual(only(validateResource(root, routes(route))), {
    path: `${at}.match.headers[0].name`,
    rule: 'string.well_known_regex',
  });
});

test('uint32 lte: a port above 65535', () => {
  const resource = cluster({
    load_assignment: {
      cluster_name: 'c',
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 70000 } } },
            },
          ],
        },
      ],
    },
  });
  assert.deepEqual(only(validateResource(root, resource)), {
    path: 'Cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
    rule: 'uint32.lte',
  });
});

test('uint32 lte on a wrapped value: max_ejection_percent above 100', () => {
  const resource = cluster({ outlier_detection: { max_ejection_percent: 101 } });
  assert.deepEqual(only(validateResource(root, resource)), {
    path: 'Cluster.outlier_detection.max_ejection_percent',
    rule: 'uint32.lte',
  });
});

test('repeated min_items: weighted clusters without clusters', () => {
  const route = { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [] } } };
  assert.deepEqual(only(validateResource(root, routes(route))), {
    path: `${at}.route.weighted_clusters.clusters`,
    rule: 'repeated.min_items',
  });
});

test('message required: a route without match', () => {
  assert.deepEqual(only(validateResource(root, routes(toCluster))), {
    path: `${at}.match`,
    rule: 'message.required',
  });
});

test('oneof required: a route without an action', () => {
  assert.deepEqual(only(validateResource(root, routes({ match: { prefix: '/' } }))), {
    path: `${at}.action`,
    rule: 'oneof.required',
  });
});

test('enum defined_only: an unknown load-balancing policy, by name and by number', () => {
  assert.deepEqual(only(validateResource(root, cluster({ lb_policy: 'NOPE' }))), {
    path: 'Cluster.lb_policy',
    rule: 'enum.defined_only',
  });
  assert.deepEqual(only(validateResource(root, cluster({ lb_policy: 99 }))), {
    path: 'Cluster.lb_policy',
    rule: 'enum.defined_only',
  });
});

test('duration gt: a negative connect timeout', () => {
  assert.deepEqual(only(validateResource(root, cluster({ connect_timeout: '-1s' }))), {
    path: 'Cluster.connect_timeout',
    rule: 'duration.gt',
  });
});

test('map keys and Any: an unknown type inside typed_extension_protocol_options', () => {
  const resource = cluster({
    typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/nope.Nope' } },
  });
  assert.deepEqual(only(validateResource(root, resource)), {
    path: 'Cluster.typed_extension_protocol_options["x"]',
    rule: 'any.type',
  });
});

test('a field the proto does not define', () => {
  assert.deepEqual(only(validateResource(root, cluster({ conect_timeout: '1s' }))), {
    path: 'Cluster.conect_timeout',
    rule: 'field',
  });
});

test('rules reach into Any: an HCM without stat_prefix inside a listener', () => {
  const listener = {
    '@type': typed('envoy.config.listener.v3.Listener'),
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 10000 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'hcm',
            typed_config: {
              '@type': typed(
                'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              ),
              stat_prefix: '',
              rds: {
                route_config_name: 'r',
                config_source: { ads: {}, resource_api_version: 'V3' },
              },
            },
          },
        ],
      },
    ],
  };
  assert.deepEqual(only(validateResource(root, listener)), {
    path: 'Listener.filter_chains[0].filters[0].typed_config.stat_prefix',
    rule: 'string.min_len',
  });
});

test('number rules: bounds, "outside" ranges, const, in and not_in', () => {
  const rules = (r: Record<string, unknown>) => (value: number) => numberCheck('uint32', r)(value);
  const atMost100 = rules({ lte: 100 });
  assert.equal(atMost100(100), undefined);
  assert.deepEqual(atMost100(101), { rule: 'uint32.lte', message: 'must be ≤ 100, got 101' });
  assert.equal(rules({ gt: 0 })(0)?.rule, 'uint32.gt');
  assert.equal(rules({ gte: 0, lt: 10 })(10)?.message, 'must be < 10, got 10');
  // An upper bound below the lower one: the value must lie outside the range.
  const outside = rules({ lt: 5, gt: 10 });
  assert.equal(outside(3), undefined);
  assert.equal(outside(11), undefined);
  assert.equal(outside(7)?.message, 'must be outside 5..10, got 7');
  assert.equal(rules({ const: 2 })(3)?.rule, 'uint32.const');
  assert.equal(rules({ in: [1, 2] })(2), undefined);
  assert.equal(rules({ in: [1, 2] })(3)?.message, 'must be one of 1, 2, got 3');
  assert.equal(rules({ not_in: [0] })(0)?.rule, 'uint32.not_in');
  // protobufjs reads 64-bit bounds as strings.
  assert.equal(rules({ lte: '100' })(101)?.rule, 'uint32.lte');
});

test('string rules: lengths in code points, bytes, patterns, sets, header names, in PGV order', () => {
  const rule = (r: Record<string, unknown>, value: unknown) => stringCheck(r)(value)?.rule;
  const pair = '\u{1F600}';
  assert.equal(rule({ min_len: 1 }, ''), 'string.min_len');
  assert.equal(stringCheck({ min_len: 1 })(undefined)?.message, 'must not be empty');
  assert.equal(rule({ min_len: 2 }, pair), 'string.min_len', 'a surrogate pair is one character');
  assert.equal(rule({ min_len: 2 }, `${pair}${pair}`), undefined);
  assert.equal(rule({ max_len: 1 }, pair), undefined);
  assert.equal(rule({ max_len: 1 }, 'ab'), 'string.max_len');
  assert.equal(rule({ len: 1 }, pair), undefined);
  assert.equal(rule({ max_bytes: 3 }, pair), 'string.max_bytes');
  assert.equal(rule({ pattern: '^[a-z]+$' }, 'Ab'), 'string.pattern');
  assert.equal(rule({ prefix: 'a', suffix: 'z' }, 'abz'), undefined);
  assert.equal(rule({ in: ['a', 'b'] }, 'c'), 'string.in');
  assert.equal(rule({ not_in: ['c'] }, 'c'), 'string.not_in');
  assert.equal(rule({ well_known_regex: 'HTTP_HEADER_NAME' }, 'x tier'), 'string.well_known_regex');
  assert.equal(rule({ well_known_regex: 'HTTP_HEADER_VALUE', strict: false }, '\u0001'), undefined);
  assert.equal(rule({ min_len: 1, ignore_empty: true }, ''), undefined);
  assert.equal(rule({ const: 'a', min_len: 5 }, 'b'), 'string.const', 'the first broken rule');
});

test('durations read as written, the same text as often as it comes', () => {
  for (let i = 0; i < 2; i += 1) {
    assert.equal(durationNanos('1.5s'), 1_500_000_000n);
    assert.equal(durationNanos('-0.000000001s'), -1n);
    assert.equal(durationNanos('1.5'), undefined);
  }
  assert.equal(durationNanos({ seconds: 2, nanos: 5 }), 2_000_000_005n);
});
