import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { executorCluster } from '../../src/envoy/cluster.ts';
import type { ListenerOptions } from '../../src/envoy/options.ts';
import { xdsSdsFiles, type XdsTlsOptions } from '../../src/envoy/xds-tls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { validateResource } from '../../src/protos/pgv/validate.ts';

const root = envoyProtos();
const BOOTSTRAP = 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap';
const caPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function withExecutorTls(address: string, serverName: string): ListenerOptions {
  return {
    address: '127.0.0.1',
    port: 10000,
    hopPort: 10001,
    executor: { address, port: 18081, workers: 2, tls: { ca: caPem, serverName } },
  };
}

test("the executor cluster checks the executor's certificate against the CA bundle and its name", () => {
  const byName = executorCluster(
    withExecutorTls('executor.switchyard.svc', 'executor.switchyard.svc'),
    'http2',
  );
  assert.deepEqual(byName.transport_socket, {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: 'executor.switchyard.svc',
      common_tls_context: {
        alpn_protocols: ['h2'],
        validation_context: {
          trusted_ca: { inline_string: caPem },
          match_typed_subject_alt_names: [
            { san_type: 'DNS', matcher: { exact: 'executor.switchyard.svc' } },
          ],
        },
      },
    },
  });
  assert.deepEqual(validateResource(root, byName), []);
  // An address is matched against the certificate's IP SANs, and sent as no SNI.
  const byAddress = executorCluster(withExecutorTls('10.0.0.7', '10.0.0.7'), 'http2');
  const context = (byAddress.transport_socket as { typed_config: Record<string, unknown> })
    .typed_config;
  assert.equal(context.sni, undefined);
  assert.deepEqual(
    (context.common_tls_context as { validation_context: unknown }).validation_context,
    {
      trusted_ca: { inline_string: caPem },
      match_typed_subject_alt_names: [{ san_type: 'IP_ADDRESS', matcher: { exact: '10.0.0.7' } }],
    },
  );
  assert.deepEqual(validateResource(root, byAddress), []);
  const plain = executorCluster(
    {
      ...withExecutorTls('10.0.0.7', ''),
      executor: { address: '10.0.0.7', port: 1, workers: 1 },
    },
    'http2',
  );
  assert.equal(plain.transport_socket, undefined);
  // The executor's routes go over HTTP/1.1, and ALPN says so: the executor's port takes both.
  const http1 = executorCluster(withExecutorTls('10.0.0.7', '10.0.0.7'), 'http1');
  const http1Context = (http1.transport_socket as { typed_config: Record<string, unknown> })
    .typed_config.common_tls_context as { alpn_protocols: string[] };
  assert.deepEqual(http1Context.alpn_protocols, ['http/1.1']);
  assert.deepEqual(validateResource(root, http1), []);
});

const mutual: XdsTlsOptions = {
  ca: '/etc/switchyard/xds/ca.crt',
  client: { cert: '/etc/switchyard/xds/tls.crt', key: '/etc/switchyard/xds/tls.key' },
  serverName: 'switchyard.switchyard.svc',
  sdsDir: '/run/switchyard/sds',
};

test("the bootstrap's xDS cluster takes its CA and client certificate from SDS files Envoy watches", () => {
  const bootstrap = bootstrapConfig({
    nodeId: 'envoy-0',
    nodeCluster: 'canary',
    xdsAddress: 'switchyard.switchyard.svc',
    xdsPort: 18000,
    adminPort: 9901,
    xdsTls: mutual,
  });
  assert.deepEqual(validateResource(root, { '@type': BOOTSTRAP, ...bootstrap }), []);
  const xds = (bootstrap.static_resources as { clusters: Record<string, unknown>[] }).clusters[0];
  const sds = (name: string, path: string) => ({
    name,
    sds_config: { path_config_source: { path }, resource_api_version: 'V3' },
  });
  assert.deepEqual(xds?.transport_socket, {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: 'switchyard.switchyard.svc',
      common_tls_context: {
        alpn_protocols: ['h2'],
        tls_certificate_sds_secret_configs: [
          sds('switchyard-xds-client', '/run/switchyard/sds/xds-client.sds.json'),
        ],
        combined_validation_context: {
          default_validation_context: {
            match_typed_subject_alt_names: [
              { san_type: 'DNS', matcher: { exact: 'switchyard.switchyard.svc' } },
            ],
          },
          validation_context_sds_secret_config: sds(
            'switchyard-xds-ca',
            '/run/switchyard/sds/xds-ca.sds.json',
          ),
        },
      },
    },
  });

  const files = xdsSdsFiles(mutual);
  assert.deepEqual(
    files.map((f) => f.path),
    ['/run/switchyard/sds/xds-ca.sds.json', '/run/switchyard/sds/xds-client.sds.json'],
  );
  const secrets = files.flatMap(
    (f) => (f.content as { resources: Record<string, unknown>[] }).resources,
  );
  for (const secret of secrets) assert.deepEqual(validateResource(root, secret), []);
  assert.deepEqual(secrets[0]?.validation_context, {
    trusted_ca: { filename: '/etc/switchyard/xds/ca.crt' },
    watched_directory: { path: '/etc/switchyard/xds' },
  });
  assert.deepEqual(secrets[1]?.tls_certificate, {
    certificate_chain: { filename: '/etc/switchyard/xds/tls.crt' },
    private_key: { filename: '/etc/switchyard/xds/tls.key' },
    watched_directory: { path: '/etc/switchyard/xds' },
  });
});

test('TLS without a client certificate writes one SDS file; a key apart from its certificate is watched file by file', () => {
  const { client: _none, ...serverAuthOnly } = mutual;
  const withoutClient = { ...serverAuthOnly, serverName: '10.0.0.9' };
  assert.deepEqual(
    xdsSdsFiles(withoutClient).map((f) => f.path),
    ['/run/switchyard/sds/xds-ca.sds.json'],
  );
  const bootstrap = bootstrapConfig({
    nodeId: 'n',
    nodeCluster: 'c',
    xdsAddress: '10.0.0.9',
    xdsPort: 18000,
    adminPort: 9901,
    xdsTls: withoutClient,
  });
  assert.deepEqual(validateResource(root, { '@type': BOOTSTRAP, ...bootstrap }), []);
  const text = JSON.stringify(bootstrap);
  assert.ok(!text.includes('tls_certificate_sds_secret_configs'));
  assert.ok(text.includes('"san_type":"IP_ADDRESS"'));
  assert.ok(!text.includes('"sni"'));
  const apart = xdsSdsFiles({
    ...mutual,
    client: { cert: '/etc/certs/tls.crt', key: '/etc/keys/tls.key' },
  });
  const certificate = (apart[1]?.content as { resources: { tls_certificate: object }[] })
    .resources[0]?.tls_certificate;
  assert.ok(certificate && !('watched_directory' in certificate));
});
