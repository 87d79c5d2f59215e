import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../src/controller/control-plane.ts';
import { statusPageRoutes } from '../src/controller/status-page.ts';
import { clusterOfNode } from '../src/envoy/cluster-stats.ts';
import { freePort } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { generatedGraph } from './generate-graphs.ts';
import { writeResults } from './results-file.ts';

/**
 * What the status page's poll (GET /ui/graphs, every 2 s while a page is
 * open) costs the control plane with N graphs served: the first poll (every
 * picture laid out) and the median of the next ones, with the traffic of
 * every node changing between polls as under load (so each shown picture is
 * drawn again), for a page of the default size, the largest page, and a
 * filter that matches one graph.
 *   npx tsx bench/status-page.ts 100 1000 10000 [--polls 5]
 */
const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { polls: { type: 'string', default: '5' } },
});
const sizes = positionals.map((size) => countArgument('graph count', size));
const polls = countArgument('--polls', options.polls);
const queries = ['', 'limit=100', 'filter=g00042'];

const rows: Record<string, string | number>[] = [];
for (const size of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-page-bench-'));
  for (let i = 0; i < size; i++) writeFileSync(join(dir, `g${String(i)}.yaml`), generatedGraph(i));
  const controlPlane = await startControlPlane({
    graphsDir: dir,
    xdsHost: '127.0.0.1',
    xdsPort: await freePort(),
    log: () => undefined,
    listener: {
      address: '127.0.0.1',
      port: await freePort(),
      hopPort: await freePort(),
      executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
    },
  });
  const clusters = controlPlane
    .served()
    .flatMap(({ graphs }) =>
      graphs.flatMap((graph) =>
        Object.keys(graph.nodes).flatMap((node) => clusterOfNode(graph, node) ?? []),
      ),
    );
  const route = statusPageRoutes(controlPlane).get('/ui/graphs');
  if (!route) throw new Error('the status page serves no /ui/graphs');
  for (const query of queries) {
    const times: number[] = [];
    let bytes = 0;
    let shown = 0;
    for (let poll = 0; poll <= polls; poll++) {
      for (const cluster of clusters) controlPlane.traffic.record(cluster, 'requests', 1);
      const start = performance.now();
      const body = await route.body(new URLSearchParams(query));
      times.push(performance.now() - start);
      bytes = body.length;
      shown = (JSON.parse(body) as { graphs: unknown[] }).graphs.length;
    }
    const [first = 0, ...rest] = times;
    rest.sort((a, b) => a - b);
    rows.push({
      graphs: size,
      query: query === '' ? '(default: 20)' : query,
      'graphs drawn': shown,
      'first poll ms': first.toFixed(0),
      'next polls, median ms': (rest[Math.floor(rest.length / 2)] ?? 0).toFixed(0),
      'bytes per poll': bytes,
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
  await controlPlane.stop();
  rmSync(dir, { recursive: true, force: true });
}
writeResults(
  'status-page',
  rows,
  `# The status page's poll at scale\n\nGET /ui/graphs as the page polls it, N generated graphs served, every node's traffic changing between polls (each shown picture is drawn again). \`npx tsx bench/status-page.ts ${sizes.join(' ')} --polls ${String(polls)}\``,
);
