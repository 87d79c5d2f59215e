import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import prettier from 'prettier';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';

/**
 * The values table of a chart's README, from its values.yaml and values.schema.json. A key is
 * documented by a comment above it that starts with `--` (helm-docs' convention), and becomes a
 * row: its path, its type from the schema, its default, the comment. Keys under a documented key
 * need no comment of their own (a map of resources is one row); every other key must have one,
 * every row a schema entry, and every key the schema allows outside documented ones a place in
 * values.yaml, or the table is not complete.
 */
export interface ValuesTable {
  readonly markdown: string;
  /** What keeps the table from being complete; empty when it is. */
  readonly problems: readonly string[];
}

interface Schema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly oneOf?: readonly Schema[];
  readonly $ref?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly definitions?: Readonly<Record<string, Schema>>;
}

interface Row {
  readonly key: string;
  readonly type: string;
  readonly defaultValue: unknown;
  readonly description: string;
}

/** The `--` paragraph of a comment, on one line; undefined when there is none. */
function documentation(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  // A file's header comment and its first key's comment arrive together, a blank line apart.
  const paragraph = comment.split(/\n\s*\n/).at(-1) ?? '';
  const text = paragraph
    .split('\n')
    .map((line) => line.trim())
    .join(' ')
    .trim();
  return text.startsWith('--') ? text.slice(2).trim() : undefined;
}

/** The comment above the map's `index`th key (YAML keeps the first one on the map itself). */
function commentAbove(map: YAMLMap, index: number): string | undefined {
  const key = map.items[index]?.key;
  const own = isScalar(key) ? key.commentBefore : undefined;
  return documentation(own ?? (index === 0 ? map.commentBefore : undefined));
}

function resolve(schema: Schema | undefined, root: Schema): Schema | undefined {
  const ref = schema?.$ref;
  if (ref === undefined) return schema;
  const name = /^#\/definitions\/(.+)$/.exec(ref)?.[1];
  return name === undefined ? undefined : resolve(root.definitions?.[name], root);
}

function typeName(schema: Schema, root: Schema): string {
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' or ');
  if (schema.oneOf)
    return schema.oneOf
      .map((option) => {
        const resolved = resolve(option, root);
        return resolved === undefined ? '?' : typeName(resolved, root);
      })
      .join(' or ');
  return [schema.type ?? 'any'].flat().join(' or ');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function code(value: unknown): string {
  return `\`${cell(JSON.stringify(value))}\``;
}

export function valuesTable(valuesYaml: string, schema: Schema): ValuesTable {
  const document = parseDocument(valuesYaml);
  const problems: string[] = document.errors.map((error) => `values.yaml: ${error.message}`);
  const rows: Row[] = [];

  const walk = (map: YAMLMap, path: readonly string[], schemaHere: Schema | undefined): void => {
    const keys = new Set(
      map.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : '')),
    );
    for (const name of Object.keys(schemaHere?.properties ?? {}))
      if (!keys.has(name))
        problems.push(`${[...path, name].join('.')}: in values.schema.json, not in values.yaml`);
    map.items.forEach((pair, index) => {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyPath = [...path, name];
      const key = keyPath.join('.');
      const keySchema = resolve(schemaHere?.properties?.[name], schema);
      const description = commentAbove(map, index);
      if (description !== undefined) {
        if (keySchema === undefined)
          problems.push(`${key}: documented, but not in values.schema.json`);
        rows.push({
          key,
          type: keySchema === undefined ? '?' : typeName(keySchema, schema),
          defaultValue: (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null,
          description,
        });
        return;
      }
      if (isMap(pair.value) && pair.value.items.length > 0) walk(pair.value, keyPath, keySchema);
      else problems.push(`${key}: no "# --" comment documents it`);
    });
  };
  if (isMap(document.contents)) walk(document.contents, [], schema);
  else problems.push('values.yaml: not a map');

  const markdown = [
    '| Key | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| \`${row.key}\` | ${cell(row.type)} | ${code(row.defaultValue)} | ${cell(row.description)} |`,
    ),
  ].join('\n');
  return { markdown, problems };
}

const START = '<!-- values-table:start (npm run chart:docs writes it) -->';
const END = '<!-- values-table:end -->';

/** The README with its table section replaced; undefined if it has no section markers. */
export function withValuesTable(readme: string, table: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return undefined;
  // Unaligned: prettier would pad every row to the longest description.
  return `${readme.slice(0, start + START.length)}\n<!-- prettier-ignore-start -->\n${table}\n<!-- prettier-ignore-end -->\n${readme.slice(end)}`;
}

/**
 * The chart's README as `npm run chart:docs` writes it: its values table made from the chart's
 * values.yaml and values.schema.json, and the whole file formatted as the repository formats
 * Markdown (prettier realigns tables).
 */
export async function chartReadme(
  chartDir: string,
): Promise<{ current: string; expected: string | undefined; problems: readonly string[] }> {
  const readmePath = join(chartDir, 'README.md');
  const [current, values, schemaText] = await Promise.all([
    readFile(readmePath, 'utf8'),
    readFile(join(chartDir, 'values.yaml'), 'utf8'),
    readFile(join(chartDir, 'values.schema.json'), 'utf8'),
  ]);
  const table = valuesTable(values, JSON.parse(schemaText) as Schema);
  const replaced = withValuesTable(current, table.markdown);
  if (replaced === undefined)
    return {
      current,
      expected: undefined,
      problems: [...table.problems, `README.md: no "${START}" … "${END}" section`],
    };
  const options = await prettier.resolveConfig(readmePath);
  const expected = await prettier.format(replaced, { ...options, filepath: readmePath });
  return { current, expected, problems: table.problems };
}
