import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupOfCertificate } from '../../src/xds/peer-group.ts';

test("a client certificate's group is the last segment of its spiffe://…/switchyard/group/ URI SAN", () => {
  assert.deepEqual(groupOfCertificate('URI:spiffe://prod.example/switchyard/group/canary'), {
    ok: true,
    group: 'canary',
  });
  // Other names beside it, in Node's "TYPE:value, TYPE:value" form, are read past.
  assert.deepEqual(
    groupOfCertificate(
      'DNS:envoy-0.edge, IP Address:10.0.0.7, URI:spiffe://td/switchyard/group/eu-west, email:a@b.c',
    ),
    { ok: true, group: 'eu-west' },
  );
  // Percent-encoded segments are decoded; a name Node quotes (a comma in it) is unquoted.
  assert.deepEqual(groupOfCertificate('URI:spiffe://td/switchyard/group/team%20a'), {
    ok: true,
    group: 'team a',
  });
  assert.deepEqual(groupOfCertificate('DNS:"a,b", URI:spiffe://td/switchyard/group/b'), {
    ok: true,
    group: 'b',
  });
  // Two URIs naming the same group name one group.
  assert.deepEqual(
    groupOfCertificate('URI:spiffe://td/switchyard/group/a, URI:spiffe://other/switchyard/group/a'),
    { ok: true, group: 'a' },
  );
});

test('a certificate that names no group, or several, is refused with the reason', () => {
  for (const names of [
    undefined,
    '',
    'DNS:envoy.example',
    'URI:spiffe://td/ns/default/sa/envoy',
    'URI:https://td/switchyard/group/a',
    'URI:spiffe:///switchyard/group/a',
    'URI:spiffe://td/switchyard/group/',
    'URI:spiffe://td/switchyard/group/a/b',
    'URI:spiffe://td/switchyard/group/a?x=1',
    'URI:spiffe://td/switchyard/groups/a',
    'URI:spiffe://td/switchyard/group/%E0%A4%A',
  ]) {
    const result = groupOfCertificate(names);
    assert.equal(result.ok, false, String(names));
    assert.match(result.reason, /names no node group/);
  }
  const several = groupOfCertificate(
    'URI:spiffe://td/switchyard/group/a, URI:spiffe://td/switchyard/group/b',
  );
  assert.deepEqual(several, {
    ok: false,
    reason: 'its client certificate names several node groups (a, b): it must name one',
  });
});
