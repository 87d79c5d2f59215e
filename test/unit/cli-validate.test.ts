import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateCommand } from '../../src/cli/validate.ts';

const listener = {
  address: '127.0.0.1',
  port: 10000,
  hopPort: 10001,
  executor: { address: '127.0.0.1', port: 18081, workers: 1 },
};

function stickySplit(first: string): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: sticky }
spec:
  entry: s
  nodes:
    s: { kind: splitter, stickyHeader: x-user, routes: [{ to: ${first}, weight: 1 }, { to: a, weight: 1 }] }
    ${first}: { kind: ${first === 't' ? 'transformer, to: a' : 'model, model: m'}, endpoint: { addresses: ["127.0.0.1:9001"] } }
    a: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:9002"] } }
`;
}

test('validate refuses what the compiler refuses, not only what the spec schema does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-validate-'));
  try {
    const file = join(dir, 'sticky.yaml');
    writeFileSync(file, stickySplit('b'));
    assert.equal(await validateCommand([dir], listener), 0);
    // A sticky split over a transformer is a valid document, but no plan can route it.
    writeFileSync(file, stickySplit('t'));
    assert.equal(await validateCommand([dir], listener), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
