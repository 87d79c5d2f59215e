import { execFileSync } from 'node:child_process';
import { compileGraphs } from '../src/controller/compile.ts';
import { envoyProtos } from '../src/protos/envoy-protos.ts';
import { loadGraphDocuments } from '../src/graph/load.ts';
import { countArgument, countOption } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';
import { defaultListener } from '../test/support/listener.ts';

/**
 * Control-plane scale: parse + validate, then compile (plan, translate, check
 * against Envoy's PGV rules) N generated graphs; resident memory after. Each
 * size runs in fresh processes, for honest memory numbers, several times:
 *   npx tsx bench/compile-scale.ts 1000 10000 50000 [--runs 3]
 */
type Row = Record<string, string | number>;

function measure(size: number): Row {
  const listener = defaultListener();
  const root = envoyProtos();
  const texts = Array.from({ length: size }, (_, i) => generatedGraph(i));
  const rssBefore = process.memoryUsage().rss;
  const parseStart = performance.now();
  const graphs = texts.flatMap((text, i) => loadGraphDocuments(`g${String(i)}.yaml`, text).graphs);
  const parseMs = performance.now() - parseStart;
  const compileStart = performance.now();
  const cpuBefore = process.cpuUsage();
  const compiled = compileGraphs(graphs, listener, root);
  const cpu = process.cpuUsage(cpuBefore);
  const compileMs = performance.now() - compileStart;
  const resources = [...compiled.resources.values()].reduce((n, m) => n + m.size, 0);
  return {
    graphs: size,
    accepted: compiled.accepted.length,
    resources,
    'parse+validate ms': Math.round(parseMs),
    'compile ms': Math.round(compileMs),
    // CPU time (all threads, GC helpers included) is steadier than wall time on a shared machine.
    'compile CPU ms': Math.round((cpu.user + cpu.system) / 1000),
    'rss MB': Math.round(process.memoryUsage().rss / 2 ** 20),
    'rss growth MB': Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20),
  };
}

const [first, second] = process.argv.slice(2);
if (first === '--one') {
  process.stdout.write(JSON.stringify(measure(countArgument('--one', second))));
} else {
  // The machine's speed drifts run to run: each size runs several times, each
  // in a fresh process, and the row is the median run (by compile time), with
  // the fastest and slowest compile beside it.
  const runs = countOption('--runs', 3);
  const sizes = process.argv
    .slice(2)
    .filter((_, i, all) => all[i] !== '--runs' && all[i - 1] !== '--runs')
    .map((size) => countArgument('graph count', size));
  const runOnce = (size: number) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [...process.execArgv, import.meta.filename, '--one', String(size)],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      ),
    ) as Row;
  const rows = (sizes.length > 0 ? sizes : [1000, 10000]).map((size) => {
    const measured = Array.from({ length: runs }, () => runOnce(size)).sort(
      (a, b) => Number(a['compile ms']) - Number(b['compile ms']),
    );
    const median = measured[Math.floor((measured.length - 1) / 2)] ?? {};
    return {
      ...median,
      'compile ms, fastest–slowest': `${String(measured[0]?.['compile ms'])}–${String(measured.at(-1)?.['compile ms'])}`,
    };
  });
  writeResults(
    'compile-scale',
    rows,
    `# Control plane: compile time and memory\n\nGenerated graphs (model, 90/10 split, header switch, mirror in turn). Each size runs ${String(runs)} times, each in a fresh process; a row is the run with the median compile time. \`npx tsx bench/compile-scale.ts 1000 10000 50000 [--runs 3]\``,
  );
}
