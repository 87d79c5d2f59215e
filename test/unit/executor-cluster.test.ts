import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executorCluster } from '../../src/envoy/cluster.ts';
import type { EnvoyResource } from '../../src/envoy/resource-set.ts';
import { hopListener } from '../../src/envoy/listener.ts';
import type { ListenerOptions } from '../../src/envoy/options.ts';
import { validateResource } from '../../src/protos/pgv/validate.ts';
import { socketDirProblem } from '../../src/envoy/sockets.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';

const root = envoyProtos();

function options(address: string, workers: number): ListenerOptions {
  return {
    address: '127.0.0.1',
    port: 10000,
    hopPort: 10001,
    executor: { address, port: 18081, workers },
  };
}

type Endpoints = {
  type: string;
  dns_lookup_family?: string;
  load_assignment: {
    endpoints: {
      lb_endpoints: { endpoint: { address: { socket_address?: unknown; pipe?: unknown } } }[];
    }[];
  };
};

const addressesOf = (cluster: Endpoints) =>
  cluster.load_assignment.endpoints.flatMap((e) =>
    e.lb_endpoints.map((l) => l.endpoint.address.socket_address),
  );

test('the executor cluster has an endpoint per worker, on consecutive ports', () => {
  const cluster = executorCluster(options('10.0.0.7', 3), 'http2') as unknown as Endpoints;
  assert.equal(cluster.type, 'STATIC');
  assert.deepEqual(addressesOf(cluster), [
    { address: '10.0.0.7', port_value: 18081 },
    { address: '10.0.0.7', port_value: 18082 },
    { address: '10.0.0.7', port_value: 18083 },
  ]);
  assert.deepEqual(validateResource(root, executorCluster(options('10.0.0.7', 3), 'http2')), []);
});

test('the executor is two clusters on the same endpoints: HTTP/2 for ext_proc, HTTP/1.1 that idles out first for its routes', () => {
  const http2 = executorCluster(options('10.0.0.7', 2), 'http2');
  const http1 = executorCluster(options('10.0.0.7', 2), 'http1');
  assert.deepEqual(
    addressesOf(http1 as unknown as Endpoints),
    addressesOf(http2 as unknown as Endpoints),
  );
  const protocolOf = (cluster: EnvoyResource) =>
    (cluster.typed_extension_protocol_options as Record<string, Record<string, unknown>>)[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ];
  assert.deepEqual(protocolOf(http2)?.explicit_http_config, { http2_protocol_options: {} });
  assert.deepEqual(protocolOf(http1)?.explicit_http_config, { http_protocol_options: {} });
  // The executor keeps an idle connection for twice as long (EXECUTOR_IDLE_TIMEOUT_MS).
  assert.deepEqual(protocolOf(http1)?.common_http_protocol_options, { idle_timeout: '60s' });
  assert.deepEqual(validateResource(root, http1), []);
});

test('an executor named by DNS (a headless Service) is resolved by Envoy, every address it has', () => {
  const cluster = executorCluster(
    options('executor.switchyard.svc', 1),
    'http2',
  ) as unknown as Endpoints;
  assert.equal(cluster.type, 'STRICT_DNS');
  assert.equal(cluster.dns_lookup_family, 'V4_PREFERRED');
  assert.deepEqual(addressesOf(cluster), [
    { address: 'executor.switchyard.svc', port_value: 18081 },
  ]);
  assert.deepEqual(
    validateResource(root, executorCluster(options('executor.switchyard.svc', 1), 'http2')),
    [],
  );
});

test('with a shared directory, the executor cluster and the hop listener are Unix sockets in it', () => {
  const sockets: ListenerOptions = { ...options('10.0.0.7', 2), sockets: '/run/switchyard' };
  const cluster = executorCluster(sockets, 'http2') as unknown as Endpoints;
  assert.equal(cluster.type, 'STATIC');
  assert.deepEqual(
    cluster.load_assignment.endpoints.flatMap((e) => e.lb_endpoints.map((l) => l.endpoint.address)),
    [
      { pipe: { path: '/run/switchyard/executor-0.sock' } },
      { pipe: { path: '/run/switchyard/executor-1.sock' } },
    ],
  );
  assert.deepEqual(validateResource(root, executorCluster(sockets, 'http2')), []);
  const listener = hopListener(sockets);
  assert.deepEqual(listener.address, { pipe: { path: '/run/switchyard/hops.sock', mode: 0o666 } });
  assert.deepEqual(validateResource(root, listener), []);
  assert.deepEqual(hopListener(options('10.0.0.7', 2)).address, {
    socket_address: { address: '127.0.0.1', port_value: 10001 },
  });
});

test('the hop listener is on loopback unless an executor in other pods must reach it', () => {
  const elsewhere: ListenerOptions = { ...options('executor.ns.svc', 2), hopAddress: '0.0.0.0' };
  const listener = hopListener(elsewhere);
  assert.deepEqual(listener.address, {
    socket_address: { address: '0.0.0.0', port_value: 10001 },
  });
  assert.deepEqual(validateResource(root, listener), []);
});

test('a socket directory too long for a Unix socket path is refused before anything starts', () => {
  assert.equal(socketDirProblem('/run/switchyard', 64), undefined);
  assert.match(socketDirProblem(`/${'d'.repeat(100)}`, 2) ?? '', /longer than the 107 bytes/);
  assert.match(socketDirProblem('', 1) ?? '', /needs a directory/);
});
