import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { compileUnits, type UnitsCompiled } from '../../src/controller/compile-files.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { renderDot } from '../../src/picture/dot.ts';
import { renderMermaid } from '../../src/picture/mermaid.ts';
import { renderSvg } from '../../src/picture/svg.ts';
import { upstreamId } from '../../src/plan/upstreams.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { formatDiagnostic } from '../../src/spec/diagnostic.ts';
import { defaultListener } from '../support/listener.ts';

/**
 * `switchyard graph`'s pictures of the examples, of the golden executor case
 * (router, soft dependency, nested graph) and of pictures/*.yaml (the kinds
 * left): pictures/out/<name>.dot and .mmd. UPDATE_GOLDEN=1 rewrites them.
 */
const here = import.meta.dirname;
const repo = join(here, '..', '..');
const outDir = join(here, 'pictures', 'out');
const update = process.env.UPDATE_GOLDEN === '1';
const listener = defaultListener();

const yamlIn = (dir: string) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => join(dir, file));

const sources = [
  ...yamlIn(join(repo, 'examples')),
  join(here, 'cases', 'executor-graph.yaml'),
  ...yamlIn(join(here, 'pictures')),
];

function compiled(path: string): UnitsCompiled {
  const result = compileUnits(
    [{ unit: basename(path), ...loadGraphDocuments(basename(path), readFileSync(path, 'utf8')) }],
    listener,
    envoyProtos(),
  );
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [], `${path} is valid`);
  return result;
}

function expectGolden(name: string, text: string): void {
  const path = join(outDir, name);
  if (update) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path, text);
    return;
  }
  assert.ok(existsSync(path), `${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
  assert.equal(text, readFileSync(path, 'utf8'), name);
}

for (const path of sources) {
  const name = basename(path, '.yaml');
  test(`picture: ${name} as DOT and Mermaid`, () => {
    const { graphs } = compiled(path);
    expectGolden(`${name}.dot`, renderDot(graphs, { values: true }));
    expectGolden(`${name}.mmd`, renderMermaid(graphs, { values: true }));
  });
}

test('picture: the SVG Graphviz lays out parses as XML and draws every node and arrow', async () => {
  for (const path of sources) {
    const { graphs } = compiled(path);
    const dot = renderDot(graphs, { values: true });
    const svg = await renderSvg(dot);
    const errors: string[] = [];
    const document = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') errors.push(message);
      },
    }).parseFromString(svg, 'image/svg+xml');
    assert.deepEqual(errors, [], `${path}: the SVG is well-formed`);
    const ids = new Set(
      [...document.getElementsByTagName('g')].map((g) => g.getAttribute('id') ?? ''),
    );
    const texts = [...document.getElementsByTagName('text')].map((t) => t.textContent);
    for (const graph of graphs) {
      for (const node of graph.order) {
        assert.ok(ids.has(`node:${upstreamId(graph, node)}`), `${path}: node ${node} is drawn`);
        assert.ok(texts.includes(node), `${path}: node ${node} is named`);
      }
    }
    const arrows = [...ids].filter((id) => id.startsWith('edge:') || id.startsWith('call:'));
    assert.equal(arrows.length, dot.split(' -> ').length - 1, `${path}: every arrow is drawn`);
  }
});

test('picture: a page for others shows what a switch reads, not the value it compares', () => {
  const { graphs } = compiled(join(repo, 'examples', 'tiered.yaml'));
  const dot = renderDot(graphs, { values: false });
  assert.match(dot, /header x-tier = …/);
  assert.doesNotMatch(dot, /gold/);
  assert.doesNotMatch(renderMermaid(graphs, { values: false }), /gold|fast/);
});
