import { compileGraphs } from '../src/envoy/compile.ts';
import { envoyProtos } from '../src/protos/envoy-protos.ts';
import { loadGraphDocuments } from '../src/spec/load.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';

/**
 * Control-plane scale: parse + validate, then compile (plan, translate, check
 * against Envoy's PGV rules) N generated graphs; resident memory after.
 * Run each size in a fresh process for honest memory numbers:
 *   npx tsx bench/compile-scale.ts 1000 10000 50000
 */
const sizes = process.argv.slice(2).map(Number);
const listener = {
  address: '127.0.0.1',
  port: 10000,
  hopPort: 10001,
  executor: { address: '127.0.0.1', port: 18081 },
};
const root = envoyProtos();
const rows: Record<string, string | number>[] = [];

for (const size of sizes.length > 0 ? sizes : [1000, 10000]) {
  const texts = Array.from({ length: size }, (_, i) => generatedGraph(i));
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const parseStart = performance.now();
  const graphs = texts.flatMap((text, i) => loadGraphDocuments(`g${String(i)}.yaml`, text).graphs);
  const parseMs = performance.now() - parseStart;
  const compileStart = performance.now();
  const compiled = compileGraphs(graphs, listener, root);
  const compileMs = performance.now() - compileStart;
  const resources = [...compiled.resources.values()].reduce((n, m) => n + m.size, 0);
  rows.push({
    graphs: size,
    accepted: compiled.accepted.length,
    resources,
    'parse+validate ms': Math.round(parseMs),
    'compile ms': Math.round(compileMs),
    'rss MB': Math.round(process.memoryUsage().rss / 2 ** 20),
    'rss growth MB': Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20),
  });
}

writeResults(
  'compile-scale',
  rows,
  '# Control plane: compile time and memory\n\nGenerated graphs (model, 90/10 split, header switch, mirror in turn); `npx tsx bench/compile-scale.ts 1000 10000`.',
);
