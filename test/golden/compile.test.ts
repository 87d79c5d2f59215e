import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { compileUnits, type UnitsCompiled } from '../../src/controller/compile-files.ts';
import { renderResources, resourceSections } from '../../src/envoy/render.ts';
import type { EnvoyResource } from '../../src/envoy/resource-set.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { formatDiagnostic } from '../../src/spec/diagnostic.ts';
import { defaultListener } from '../support/listener.ts';

/**
 * One spec per feature, and what it compiles to, in YAML a reviewer can
 * read (after Envoy Gateway's testdata/out/xds-ir):
 *
 * - cases/<case>.yaml (a valid spec) → out/<case>.<section>.yaml for each
 *   section of Envoy resources ("clusters", "routes", ...) in which the case
 *   differs from out/baseline.<section>.yaml, what no graph compiles to:
 *   the resources the case adds or changes, by name. out/<case>.execution-
 *   plans.yaml holds the plans the executor gets, where it runs any.
 * - invalid/<case>.yaml (a spec with problems) → out/<case>.diagnostics.yaml,
 *   every problem as `validate` and `serve` report it.
 *
 * UPDATE_GOLDEN=1 rewrites the outputs and removes those no case makes.
 */
const here = import.meta.dirname;
const outDir = join(here, 'out');
const update = process.env.UPDATE_GOLDEN === '1';
const root = envoyProtos();
const listener = defaultListener(2);

const specs = (dir: string) =>
  readdirSync(join(here, dir))
    .filter((file) => file.endsWith('.yaml'))
    .sort();

/** Every output written or checked by this run, to find the stale ones. */
const produced = new Set<string>();

function yaml(value: unknown): string {
  // Shared objects (a memoized config source, say) are written out each time, not as aliases.
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Checks (or, updating, writes) the outputs of one case. */
function expectOutputs(outputs: ReadonlyMap<string, string>): void {
  for (const [name, text] of outputs) {
    produced.add(name);
    const path = join(outDir, name);
    if (update) {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(path, text);
      continue;
    }
    assert.ok(existsSync(path), `${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
    assert.equal(text, readFileSync(path, 'utf8'), name);
  }
}

/** Valid cases compile as the Kubernetes controller does: nodes may be served by Services. */
function compileCase(dir: string, file: string): UnitsCompiled {
  const source = `${dir}/${file}`;
  const text = readFileSync(join(here, dir, file), 'utf8');
  return compileUnits([{ unit: source, ...loadGraphDocuments(source, text) }], listener, root, {
    services: dir === 'cases',
  });
}

const sections = (compiled: UnitsCompiled) => resourceSections(compiled.resources);
const resourcesOf = (named: readonly [string, EnvoyResource][]) => named.map(([, r]) => r);
const baseline = new Map(
  sections(compileUnits([], listener, root)).map(([section, named]) => [
    section,
    new Map(named.map(([name, resource]) => [name, JSON.stringify(resource)])),
  ]),
);

test('golden: baseline, what no graph compiles to', () => {
  expectOutputs(
    new Map(
      sections(compileUnits([], listener, root))
        .filter(([, named]) => named.length > 0)
        .map(([section, named]) => [`baseline.${section}.yaml`, yaml(resourcesOf(named))]),
    ),
  );
});

for (const file of specs('cases')) {
  const name = file.replace(/\.yaml$/, '');
  test(`golden: ${file}`, () => {
    const compiled = compileCase('cases', file);
    assert.deepEqual(compiled.diagnostics.map(formatDiagnostic), [], 'golden cases are valid');
    const outputs = new Map<string, string>();
    for (const [section, named] of sections(compiled)) {
      const shared = baseline.get(section) ?? new Map<string, string>();
      const names = new Set(named.map(([resourceName]) => resourceName));
      const gone = [...shared.keys()].filter((resourceName) => !names.has(resourceName));
      assert.deepEqual(gone, [], `a case only adds to the baseline ${section}`);
      const changed = named.filter(
        ([key, resource]) => shared.get(key) !== JSON.stringify(resource),
      );
      if (changed.length > 0) outputs.set(`${name}.${section}.yaml`, yaml(resourcesOf(changed)));
    }
    const plans = compiled.planned.flatMap(({ graph }) => [
      ...graph.executors.map(({ entry, transport, plan }) => ({ entry, transport, plan })),
      ...(graph.feedback ? [{ entry: graph.feedback.entry, feedback: graph.feedback }] : []),
    ]);
    if (plans.length > 0) outputs.set(`${name}.execution-plans.yaml`, yaml(plans));
    expectOutputs(outputs);
  });
}

for (const file of specs('invalid')) {
  const name = file.replace(/\.yaml$/, '');
  test(`golden: invalid/${file}`, () => {
    const compiled = compileCase('invalid', file);
    assert.deepEqual(compiled.graphs, [], 'nothing of an invalid case is served');
    assert.notDeepEqual(compiled.diagnostics, [], 'an invalid case has problems');
    // The source is the case's own file: what is wrong, where in it, and how to fix it.
    const problems = compiled.diagnostics.map(({ code, path, message, hint }) => ({
      code,
      path,
      message,
      ...(hint !== undefined && { hint }),
    }));
    expectOutputs(new Map([[`${name}.diagnostics.yaml`, yaml(problems)]]));
  });
}

test('golden: compiling twice yields identical bytes', () => {
  for (const file of specs('cases')) {
    const twice = [compileCase('cases', file), compileCase('cases', file)];
    assert.equal(
      ...(twice.map((compiled) => renderResources(compiled.resources)) as [string, string]),
    );
  }
});

test('golden: no output is left that no case makes', () => {
  const stale = readdirSync(outDir).filter((file) => !produced.has(file));
  if (update) for (const file of stale) rmSync(join(outDir, file));
  else assert.deepEqual(stale, [], 'stale outputs: run with UPDATE_GOLDEN=1 to remove them');
});
