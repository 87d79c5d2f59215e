import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bearerMatches,
  isLoopbackHost,
  statusGuardProblem,
} from '../../src/controller/status-access.ts';

test('loopback is 127.0.0.0/8, ::1 and localhost; everything else reaches beyond the host', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
    assert.ok(isLoopbackHost(host), host);
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.7', '192.0.2.1', 'status.example', '128.0.0.1']) {
    assert.ok(!isLoopbackHost(host), host);
  }
});

test('beyond loopback, status needs a token, client certificates or an explicit --insecure-status', () => {
  assert.equal(statusGuardProblem({ host: '127.0.0.1', insecure: false }), undefined);
  assert.match(
    statusGuardProblem({ host: '0.0.0.0', insecure: false }) ?? '',
    /open to anyone who reaches it: give --status-token-file .* or accept an open endpoint with --insecure-status/,
  );
  assert.equal(statusGuardProblem({ host: '0.0.0.0', tokenFile: 't', insecure: false }), undefined);
  assert.equal(statusGuardProblem({ host: '0.0.0.0', clientCa: 'ca', insecure: false }), undefined);
  assert.equal(statusGuardProblem({ host: '0.0.0.0', insecure: true }), undefined);
});

test('a bearer token matches only whole, after "Bearer " (any case), and never when empty', () => {
  const token = 's3cr3t-token';
  assert.ok(bearerMatches(`Bearer ${token}`, token));
  assert.ok(bearerMatches(`bearer ${token}`, token));
  assert.ok(bearerMatches(`Bearer  ${token} `, token));
  for (const header of [
    undefined,
    '',
    token,
    `Basic ${token}`,
    `Bearer ${token}x`,
    `Bearer ${token.slice(0, -1)}`,
    `Bearer ${token} extra`,
    'Bearer ',
  ]) {
    assert.ok(!bearerMatches(header, token), String(header));
  }
});
