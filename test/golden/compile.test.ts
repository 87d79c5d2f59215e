import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileGraphs } from '../../src/controller/compile.ts';
import { renderResources } from '../../src/envoy/render.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { formatDiagnostic } from '../../src/spec/diagnostic.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';

/**
 * One pair per feature: cases/<name>.yaml (the spec) → cases/<name>.json (the
 * Envoy resources, byte for byte). UPDATE_GOLDEN=1 rewrites the outputs and
 * removes outputs whose spec is gone.
 */
const casesDir = join(import.meta.dirname, 'cases');
const update = process.env.UPDATE_GOLDEN === '1';
const listener = {
  address: '127.0.0.1',
  port: 10000,
  hopPort: 10001,
  executor: { address: '127.0.0.1', port: 18081, workers: 2 },
};

const specs = readdirSync(casesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

if (update) {
  for (const file of readdirSync(casesDir).filter((f) => f.endsWith('.json'))) {
    if (!specs.includes(file.replace(/\.json$/, '.yaml'))) rmSync(join(casesDir, file));
  }
}

function compileCase(file: string): string {
  const source = `cases/${file}`;
  const loaded = loadGraphDocuments(source, readFileSync(join(casesDir, file), 'utf8'));
  assert.deepEqual(loaded.diagnostics.map(formatDiagnostic), [], 'golden specs must be valid');
  const compiled = compileGraphs(loaded.graphs, listener, envoyProtos());
  assert.deepEqual(compiled.diagnostics.map(formatDiagnostic), []);
  return renderResources(compiled.resources);
}

for (const file of specs) {
  test(`golden: ${file}`, () => {
    const expectedPath = join(casesDir, file.replace(/\.yaml$/, '.json'));
    const actual = compileCase(file);
    if (update || !existsSync(expectedPath)) {
      assert.ok(update, `${expectedPath} is missing: run with UPDATE_GOLDEN=1 to create it`);
      writeFileSync(expectedPath, actual);
      return;
    }
    assert.equal(actual, readFileSync(expectedPath, 'utf8'));
  });
}

test('golden: compiling twice yields identical bytes', () => {
  for (const file of specs) assert.equal(compileCase(file), compileCase(file));
});
