import { instance, type Viz } from '@viz-js/viz';

let viz: Promise<Viz> | undefined;

/**
 * DOT to SVG by Graphviz itself, compiled to WebAssembly (@viz-js/viz): the
 * same layout `dot -Tsvg` makes, with no binary to install. The module is
 * instantiated once per process.
 */
export async function renderSvg(dot: string): Promise<string> {
  viz ??= instance();
  return (await viz).renderString(dot, { format: 'svg', engine: 'dot' });
}
