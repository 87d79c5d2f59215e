import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineDescription } from './machine.ts';

const resultsDir = join(import.meta.dirname, 'results');

/** Writes <name>.json (raw) and <name>.md (the table docs/performance.md quotes). */
export function writeResults(
  name: string,
  rows: Record<string, string | number>[],
  notes: string,
): void {
  mkdirSync(resultsDir, { recursive: true });
  const machine = machineDescription();
  writeFileSync(
    join(resultsDir, `${name}.json`),
    `${JSON.stringify({ machine, rows }, null, 2)}\n`,
  );
  const table = markdownTable(rows);
  const described = Object.entries(machine)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ');
  writeFileSync(join(resultsDir, `${name}.md`), `${notes}\n\n${table}\n\nMachine: ${described}\n`);
  process.stdout.write(`${table}\n`);
}

/** Rows as a markdown table, the first row's keys as columns. */
export function markdownTable(rows: readonly Record<string, string | number>[]): string {
  const columns = Object.keys(rows[0] ?? {});
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((c) => String(row[c] ?? '')).join(' | ')} |`),
  ].join('\n');
}
