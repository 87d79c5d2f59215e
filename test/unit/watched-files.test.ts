import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bearerToken, watchTlsFiles } from '../../src/runtime/tls-material.ts';
import { WatchedFiles } from '../../src/runtime/watched-files.ts';
import { waitFor } from '../support/http.ts';
import { projectSecret } from '../support/secret-volume.ts';
import { makeTestCa } from '../support/test-pki.ts';

const fast = { intervalMs: 20 };

test('a watched file is read again when written in place or renamed over, and a bad version is not taken', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-watched-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'token');
  writeFileSync(file, 'first\n');
  const lines: string[] = [];
  const token = await WatchedFiles.open('the token', [file], bearerToken, {
    ...fast,
    log: (line) => lines.push(line),
  });
  t.after(() => {
    token.close();
  });
  const seen: string[] = [];
  token.onChange((value) => seen.push(value));
  assert.equal(token.value, 'first');

  writeFileSync(file, 'second');
  await waitFor('the in-place write', () => token.value === 'second', 5000);

  writeFileSync(join(dir, 'next'), 'third\n');
  renameSync(join(dir, 'next'), file);
  await waitFor('the rename', () => token.value === 'third', 5000);

  // An empty token is no token: the previous one stays, and the log says why (not what it read).
  writeFileSync(file, '   \n');
  await waitFor('the refusal', () => lines.some((l) => /is not usable.*is empty/.test(l)), 5000);
  assert.equal(token.value, 'third');
  assert.deepEqual(seen, ['second', 'third']);
  assert.ok(
    lines.every((line) => !/third|second/.test(line)),
    lines.join('\n'),
  );

  await assert.rejects(
    WatchedFiles.open('a token', [join(dir, 'missing')], bearerToken, fast),
    /^Error: a token: ENOENT/,
  );
});

test('TLS files follow a Secret-volume swap; a certificate with a key not its own keeps the previous pair', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-watched-tls-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const ca = await makeTestCa(dir);
  const [one, two] = await Promise.all([
    ca.issue('one', { commonName: 'one', hosts: ['127.0.0.1'], usage: 'server' }),
    ca.issue('two', { commonName: 'two', hosts: ['127.0.0.1'], usage: 'server' }),
  ]);
  const volume = join(dir, 'volume');
  projectSecret(volume, { 'tls.crt': one.cert, 'tls.key': one.key, 'ca.crt': ca.cert });
  const lines: string[] = [];
  const files = { cert: join(volume, 'tls.crt'), key: join(volume, 'tls.key') };
  const tls = await watchTlsFiles(
    'the test server',
    { ...files, clientCa: join(volume, 'ca.crt') },
    {
      ...fast,
      log: (line) => lines.push(line),
    },
  );
  t.after(() => {
    tls.close();
  });
  assert.equal(tls.value.cert.toString(), one.cert);
  assert.equal(tls.value.ca?.toString(), ca.cert);

  projectSecret(volume, { 'tls.crt': two.cert, 'tls.key': one.key, 'ca.crt': ca.cert });
  await waitFor('the mismatch to be refused', () => lines.some((l) => /not usable/.test(l)), 5000);
  assert.equal(tls.value.cert.toString(), one.cert);

  projectSecret(volume, { 'tls.crt': two.cert, 'tls.key': two.key, 'ca.crt': ca.cert });
  await waitFor('the new pair', () => tls.value.cert.toString() === two.cert, 5000);
  assert.equal(tls.value.key.toString(), two.key);
  for (const line of lines) {
    assert.ok(!line.includes('PRIVATE KEY') && !line.includes('CERTIFICATE-----'), line);
  }

  await assert.rejects(
    watchTlsFiles('the test server', { cert: files.cert, key: join(dir, 'ca.key') }, fast),
    /the test server \(.*\): .*(mismatch|key)/i,
  );
});
