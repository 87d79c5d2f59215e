import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { loadGraphObject } from '../../src/graph/load.ts';
import { importObjects } from '../../src/import/import.ts';

/**
 * Import goldens: each KServe or Seldon manifest under import/cases becomes
 * the Switchyard graphs and notes under import/out, and every graph written
 * passes Switchyard's own checks. UPDATE_GOLDEN=1 rewrites the outputs.
 */
const casesDir = join(import.meta.dirname, 'import', 'cases');
const outDir = join(import.meta.dirname, 'import', 'out');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(casesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

if (update) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
}

for (const file of cases) {
  test(`import golden: ${file}`, () => {
    const objects = parseAllDocuments(readFileSync(join(casesDir, file), 'utf8')).map(
      (document, index) => ({
        source: `${file}#${String(index + 1)}`,
        value: document.toJS() as unknown,
      }),
    );
    const result = importObjects(objects);
    assert.ok(result.graphs.length > 0, `${file} imports a graph`);
    for (const graph of result.graphs) {
      const loaded = loadGraphObject(file, graph);
      assert.deepEqual(loaded.diagnostics, [], `${file}: the imported graph is valid`);
    }
    const actual = stringify(
      {
        graphs: result.graphs,
        notes: result.notes.map((n) => `${n.path}: ${n.message}`),
      },
      { lineWidth: 0 },
    );
    const golden = join(outDir, file);
    if (update) writeFileSync(golden, actual);
    assert.equal(actual, readFileSync(golden, 'utf8'));
  });
}
