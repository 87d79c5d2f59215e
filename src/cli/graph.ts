import { writeFile } from 'node:fs/promises';
import { compileGraphFiles } from '../controller/compile-files.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import { renderDot } from '../picture/dot.ts';
import { renderMermaid } from '../picture/mermaid.ts';
import { renderSvg } from '../picture/svg.ts';
import { printDiagnostics } from './output.ts';

export const pictureFormats = ['svg', 'dot', 'mermaid'] as const;
export type PictureFormat = (typeof pictureFormats)[number];

/**
 * `switchyard graph FILE... --format svg|dot|mermaid [--out FILE]`: a
 * picture of the graphs, after the very checks `validate` makes (a graph
 * with problems gets its diagnostics and exit 1, no picture).
 */
export async function graphCommand(
  paths: readonly string[],
  options: { format: PictureFormat; out?: string },
  listener: ListenerOptions,
): Promise<number> {
  const { graphs, diagnostics } = await compileGraphFiles(paths, listener);
  printDiagnostics(diagnostics);
  if (diagnostics.length > 0) {
    process.stderr.write(`${String(diagnostics.length)} problem(s) found\n`);
    return 1;
  }
  if (graphs.length === 0) {
    process.stderr.write(`no graphs found in ${paths.join(', ')}\n`);
    return 1;
  }
  // The file is the user's own: the picture shows what switches compare against.
  const text = { values: true };
  const picture =
    options.format === 'mermaid'
      ? renderMermaid(graphs, text)
      : options.format === 'dot'
        ? renderDot(graphs, text)
        : await renderSvg(renderDot(graphs, text));
  if (options.out === undefined) process.stdout.write(picture);
  else await writeFile(options.out, picture);
  return 0;
}
