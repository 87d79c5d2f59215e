import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { AdsServer } from '../../src/xds/ads-server.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { metricsService, type ExtraService } from '../../src/xds/metrics-service.ts';
import { makeTestCa, type IssuedCert, type TestCa } from '../support/test-pki.ts';

/**
 * The metrics service beside ADS, under mutual TLS: stats from an Envoy
 * whose certificate would get configuration are heard; a client without a
 * certificate the client CA vouches for is refused as ADS refuses it.
 */
const root = envoyProtos();
let dir: string;
let ca: TestCa;
let serverCert: IssuedCert;
let clientA: IssuedCert;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-metrics-tls-'));
  ca = await makeTestCa(dir, 'metrics-ca');
  serverCert = await ca.issue('server', {
    commonName: 'xds',
    hosts: ['127.0.0.1'],
    usage: 'server',
  });
  clientA = await ca.issue('client-a', {
    commonName: 'a',
    uris: ['spiffe://test.example/switchyard/group/a'],
    usage: 'client',
  });
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Streams one report of one counter; resolves to the call's status code. */
function send(
  service: ExtraService,
  address: string,
  creds: grpc.ChannelCredentials,
): Promise<grpc.status> {
  const Client = grpc.makeGenericClientConstructor(service.definition, 'MetricsService');
  const client = new Client(address, creds);
  return new Promise<grpc.status>((resolve) => {
    const call = client.makeClientStreamRequest(
      '/envoy.service.metrics.v3.MetricsService/StreamMetrics',
      service.definition.StreamMetrics?.requestSerialize ?? (() => Buffer.alloc(0)),
      () => ({}),
      (error: grpc.ServiceError | null) => {
        client.close();
        resolve(error ? error.code : grpc.status.OK);
      },
    );
    call.write({
      identifier: { node: { id: 'envoy-a' } },
      envoy_metrics: [
        { name: 'cluster.a/b/c.upstream_rq_total', type: 0, metric: [{ counter: { value: 1 } }] },
      ],
    });
    call.end();
  });
}

test('under mutual TLS the stat sink is heard from a vouched-for Envoy only', async (t) => {
  const reports: string[] = [];
  const service = metricsService(root, (envoy) => reports.push(envoy));
  const server = new AdsServer(new SnapshotCache(), root, {
    log: () => undefined,
    services: [service],
    tls: {
      value: {
        cert: Buffer.from(serverCert.cert),
        key: Buffer.from(serverCert.key),
        ca: Buffer.from(ca.cert),
      },
      onChange: () => () => undefined,
    },
  });
  const address = `127.0.0.1:${String(await server.start({ host: '127.0.0.1', port: 0 }))}`;
  t.after(() => server.stop());
  const trust = Buffer.from(ca.cert);
  const withCertificate = grpc.credentials.createSsl(
    trust,
    Buffer.from(clientA.key),
    Buffer.from(clientA.cert),
  );
  assert.equal(await send(service, address, withCertificate), grpc.status.OK);
  assert.deepEqual(reports, ['envoy-a']);
  assert.equal(
    await send(service, address, grpc.credentials.createSsl(trust)),
    grpc.status.UNAUTHENTICATED,
  );
  assert.deepEqual(reports, ['envoy-a'], 'nothing heard from the client without a certificate');
});
