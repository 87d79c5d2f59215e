import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chartReadme } from './chart-values-table.ts';

/**
 * `npm run chart:docs`: rewrites the values table of charts/switchyard/README.md from the
 * chart's values.yaml comments and values.schema.json (a unit test fails while it is stale).
 */
const chartDir = join(import.meta.dirname, '..', 'charts', 'switchyard');
const { current, expected, problems } = await chartReadme(chartDir);
for (const problem of problems) process.stderr.write(`chart:docs: ${problem}\n`);
if (problems.length > 0 || expected === undefined) process.exit(1);
if (expected === current) {
  process.stdout.write('charts/switchyard/README.md: the values table is up to date\n');
} else {
  await writeFile(join(chartDir, 'README.md'), expected);
  process.stdout.write('charts/switchyard/README.md: values table rewritten\n');
}
