import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { EnvoyResource } from '../../src/envoy/resource-set.ts';
import { CLUSTER, type ResourceTypeUrl } from '../../src/envoy/type-urls.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { AdsServer } from '../../src/xds/ads-server.ts';
import { DEFAULT_GROUP, SnapshotCache } from '../../src/xds/cache.ts';
import type { ServerTlsMaterial, ServerTlsSource } from '../../src/xds/server-credentials.ts';
import { makeTestCa, type IssuedCert, type TestCa } from '../support/test-pki.ts';
import { sotwClient } from '../support/xds-client.ts';

/**
 * The ADS server over TLS and mutual TLS, held to a real grpc-js client:
 * the group comes from the client certificate, a client without a valid one
 * gets nothing and is logged, and a rotated server certificate serves new
 * connections while open streams go on.
 */

const root = envoyProtos();
const groupUri = (group: string) => `spiffe://test.example/switchyard/group/${group}`;

/** Material a test swaps as rotated files would be. */
class Rotating implements ServerTlsSource {
  value: ServerTlsMaterial;
  readonly #listeners = new Set<(material: ServerTlsMaterial) => void>();
  constructor(value: ServerTlsMaterial) {
    this.value = value;
  }
  onChange(listener: (material: ServerTlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  rotate(value: ServerTlsMaterial): void {
    this.value = value;
    for (const listener of this.#listeners) listener(value);
  }
}

/** One cluster per group, named after it: which group's snapshot a client got shows in its name. */
function snapshotOf(group: string): Map<ResourceTypeUrl, Map<string, EnvoyResource>> {
  const name = `cluster-of-${group}`;
  return new Map([
    [CLUSTER, new Map([[name, { '@type': CLUSTER, name, type: 'STATIC', connect_timeout: '1s' }]])],
  ]);
}

async function startServer(tls: ServerTlsSource, lines: string[]) {
  const cache = new SnapshotCache();
  for (const group of [DEFAULT_GROUP, 'a', 'b']) cache.setSnapshot(group, snapshotOf(group));
  const server = new AdsServer(cache, root, { tls, log: (line) => lines.push(line) });
  const port = await server.start({ host: '127.0.0.1', port: 0 });
  return { server, cache, address: `127.0.0.1:${String(port)}` };
}

function credentials(trust: TestCa | string, client?: IssuedCert): grpc.ChannelCredentials {
  const ca = Buffer.from(typeof trust === 'string' ? trust : trust.cert);
  return client
    ? grpc.credentials.createSsl(ca, Buffer.from(client.key), Buffer.from(client.cert))
    : grpc.credentials.createSsl(ca);
}

/** Asks for clusters as node `id` claiming `cluster`: the names answered, or the status it ended with. */
async function ask(
  address: string,
  creds: grpc.ChannelCredentials,
  id: string,
  cluster: string,
): Promise<string[] | grpc.StatusObject> {
  const stream = sotwClient(root, address, creds);
  try {
    stream.send({
      version_info: '',
      node: { id, cluster },
      resource_names: [],
      type_url: CLUSTER,
      response_nonce: '',
    });
    const answer = await Promise.race([stream.next(5000), stream.ended]);
    if (answer === undefined) throw new Error('neither an answer nor a status within 5 s');
    if ('code' in answer) return answer;
    return answer.resources.map((resource) => {
      const decoded = root
        .lookupType('envoy.config.cluster.v3.Cluster')
        .decode(resource.value) as unknown as { name: string };
      return decoded.name;
    });
  } finally {
    stream.close();
  }
}

describe('xDS over TLS', () => {
  let dir: string;
  let ca: TestCa;
  let other: TestCa;
  let serverCert: IssuedCert;
  let clientA: IssuedCert;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-xds-tls-'));
    const caDir = join(dir, 'ca');
    const otherDir = join(dir, 'other');
    for (const d of [caDir, otherDir]) mkdirSync(d);
    [ca, other] = await Promise.all([
      makeTestCa(caDir, 'xds-ca'),
      makeTestCa(otherDir, 'other-ca'),
    ]);
    serverCert = await ca.issue('server', {
      commonName: 'xds',
      hosts: ['127.0.0.1'],
      usage: 'server',
    });
    clientA = await ca.issue('client-a', {
      commonName: 'a',
      uris: [groupUri('a')],
      usage: 'client',
    });
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('TLS without a client CA: groups come from node.cluster, and plaintext clients get nothing', async (t) => {
    const lines: string[] = [];
    const { server, address } = await startServer(
      new Rotating({ cert: Buffer.from(serverCert.cert), key: Buffer.from(serverCert.key) }),
      lines,
    );
    t.after(() => server.stop());
    assert.deepEqual(await ask(address, credentials(ca), 'tls-1', 'b'), ['cluster-of-b']);
    const plain = await ask(address, grpc.credentials.createInsecure(), 'plain-1', 'b');
    assert.equal((plain as grpc.StatusObject).code, grpc.status.UNAVAILABLE);
  });

  test("mutual TLS: the certificate's group wins over node.cluster; no valid certificate, no config", async (t) => {
    const lines: string[] = [];
    const { server, address } = await startServer(
      new Rotating({
        cert: Buffer.from(serverCert.cert),
        key: Buffer.from(serverCert.key),
        ca: Buffer.from(ca.cert),
      }),
      lines,
    );
    t.after(() => server.stop());
    assert.deepEqual(await ask(address, credentials(ca, clientA), 'claims-b', 'b'), [
      'cluster-of-a',
    ]);
    assert.ok(
      lines.some((l) =>
        l.includes(
          'Envoy claims-b (group a by its certificate, not group b its node.cluster claims',
        ),
      ),
      lines.join('\n'),
    );
    const [noGroup, twoGroups, otherCa] = await Promise.all([
      ca.issue('no-group', {
        commonName: 'x',
        uris: ['spiffe://test.example/sa/x'],
        usage: 'client',
      }),
      ca.issue('two', { commonName: 'x', uris: [groupUri('a'), groupUri('b')], usage: 'client' }),
      other.issue('other-a', { commonName: 'a', uris: [groupUri('a')], usage: 'client' }),
    ]);
    for (const [id, creds, reason] of [
      ['no-cert', credentials(ca), /no client certificate the xDS client CA vouches for/],
      ['other-ca', credentials(ca, otherCa), /no client certificate the xDS client CA vouches for/],
      ['no-group', credentials(ca, noGroup), /names no node group/],
      ['two-groups', credentials(ca, twoGroups), /names several node groups \(a, b\)/],
    ] as const) {
      const refused = (await ask(address, creds, id, 'a')) as grpc.StatusObject;
      assert.equal(refused.code, grpc.status.UNAUTHENTICATED, id);
      assert.match(refused.details, reason);
      assert.ok(
        lines.some(
          (l) =>
            l.startsWith(`refused Envoy ${id} (claims group a) from 127.0.0.1:`) && reason.test(l),
        ),
        lines.join('\n'),
      );
    }
    // A refused Envoy retries every few seconds: its refusal is logged once, not each time.
    await ask(address, credentials(ca), 'no-cert', 'a');
    assert.equal(lines.filter((l) => l.startsWith('refused Envoy no-cert ')).length, 1);
    assert.deepEqual(
      server.status().map((s) => s.nodeId),
      [],
      'no refused client counts as a connected Envoy',
    );
  });

  test('a rotated server certificate and client CA serve new connections; an open stream goes on', async (t) => {
    const lines: string[] = [];
    const next = await makeTestCa(join(dir, 'other'), 'next-ca');
    const [nextServer, nextClient] = await Promise.all([
      next.issue('next-server', { commonName: 'xds', hosts: ['127.0.0.1'], usage: 'server' }),
      next.issue('next-client', { commonName: 'a', uris: [groupUri('a')], usage: 'client' }),
    ]);
    const source = new Rotating({
      cert: Buffer.from(serverCert.cert),
      key: Buffer.from(serverCert.key),
      ca: Buffer.from(ca.cert),
    });
    const { server, cache, address } = await startServer(source, lines);
    t.after(() => server.stop());
    const open = sotwClient(root, address, credentials(ca, clientA));
    t.after(() => {
      open.close();
    });
    open.send({
      version_info: '',
      node: { id: 'stays', cluster: 'a' },
      resource_names: [],
      type_url: CLUSTER,
      response_nonce: '',
    });
    const first = await open.next(5000);
    assert.ok(first);
    open.send({
      version_info: first.version_info,
      resource_names: [],
      type_url: CLUSTER,
      response_nonce: first.nonce,
    });
    source.rotate({
      cert: Buffer.from(nextServer.cert),
      key: Buffer.from(nextServer.key),
      ca: Buffer.from(next.cert),
    });
    await new Promise((resolve) => setImmediate(resolve));
    // New connections: the new CA's client is admitted, trusting the new CA only; the old CA's is not.
    assert.deepEqual(await ask(address, credentials(next, nextClient), 'new', 'a'), [
      'cluster-of-a',
    ]);
    const old = await ask(address, credentials(`${ca.cert}${next.cert}`, clientA), 'old', 'a');
    assert.equal((old as grpc.StatusObject).code, grpc.status.UNAUTHENTICATED);
    // The stream opened before the rotation is still served: a change reaches it.
    cache.setSnapshot('a', snapshotOf('a-changed'));
    const pushed = await open.next(5000);
    assert.equal(pushed?.resources.length, 1);
    assert.deepEqual(
      server
        .status()
        .filter((s) => s.nodeId === 'stays')
        .map((s) => s.nodeCluster),
      ['a'],
    );
  });
});
