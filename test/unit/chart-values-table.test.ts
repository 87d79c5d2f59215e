import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { chartReadme, valuesTable } from '../../scripts/chart-values-table.ts';

const chartDir = join(import.meta.dirname, '..', '..', 'charts', 'switchyard');

test("the chart README's values table is the one values.yaml and values.schema.json make (npm run chart:docs)", async () => {
  const { current, expected, problems } = await chartReadme(chartDir);
  assert.deepEqual(problems, [], 'every value is documented, and in the schema');
  assert.ok(expected !== undefined);
  assert.equal(current, expected, 'run `npm run chart:docs`');
});

test('a row per documented key, its type from the schema; keys below it need no comment', () => {
  const schema = {
    type: 'object',
    properties: {
      mode: { enum: ['a', 'b'] },
      group: { type: 'object', properties: { port: { $ref: '#/definitions/port' } } },
      resources: { type: 'object' },
    },
    definitions: { port: { type: 'integer' } },
  };
  const { markdown, problems } = valuesTable(
    [
      '# Header of the file.',
      '',
      '# -- The mode | a pipe.',
      'mode: a',
      'group:',
      '  # -- A port,',
      '  # on two lines.',
      '  port: 80',
      '# -- Its resources.',
      'resources:',
      '  limits: { memory: 1Gi }',
    ].join('\n'),
    schema,
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(markdown.split('\n').slice(2), [
    '| `mode` | "a" or "b" | `"a"` | The mode \\| a pipe. |',
    '| `group.port` | integer | `80` | A port, on two lines. |',
    '| `resources` | object | `{"limits":{"memory":"1Gi"}}` | Its resources. |',
  ]);
});

test('an undocumented key, a documented key the schema lacks, and a schema key values.yaml lacks are problems', () => {
  const schema = {
    type: 'object',
    properties: { kept: { type: 'string' }, forgotten: { type: 'string' } },
  };
  const { problems } = valuesTable('kept: x\n# -- Not in the schema.\nextra: 1\n', schema);
  assert.deepEqual(problems.toSorted(), [
    'extra: documented, but not in values.schema.json',
    'forgotten: in values.schema.json, not in values.yaml',
    'kept: no "# --" comment documents it',
  ]);
});
