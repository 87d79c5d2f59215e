import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conditionHolds } from '../../src/executor/interpreter/conditions.ts';
import { gjsonToCel } from '../../src/import/gjson.ts';
import { compileCel } from '../../src/spec/cel.ts';

/**
 * GJSON → CEL: each translation holds exactly where GJSON's Get(...).Exists()
 * does. Expected values follow GJSON's rules (tidwall/gjson gjson.go:
 * parseQuery, queryMatches, parseArray; SYNTAX.md examples) as read in
 * docs/decisions/0037-importing-kserve-and-seldon.md.
 */
const syntax = {
  name: { first: 'Tom', last: 'Anderson' },
  age: 37,
  children: ['Sara', 'Alex', 'Jack'],
  'fav.movie': 'Deer Hunter',
  friends: [
    { first: 'Dale', last: 'Murphy', age: 44, nets: ['ig', 'fb', 'tw'] },
    { first: 'Roger', last: 'Craig', age: 68, nets: ['fb', 'tw'] },
    { first: 'Jane', last: 'Murphy', age: 47, nets: ['ig', 'tw'] },
  ],
  flags: [true, false],
  scores: [0.2, 7, 12],
  obj: { '0': 'zero', '#': 'hash' },
};

function exists(condition: string, body: unknown): boolean {
  const translated = gjsonToCel(condition);
  assert.ok(
    'cel' in translated,
    `${condition}: ${'unsupported' in translated ? translated.unsupported : ''}`,
  );
  const compiled = compileCel(translated.cel);
  assert.ok(
    'program' in compiled,
    `${condition} → ${translated.cel}: ${'error' in compiled ? compiled.error : ''}`,
  );
  return compiled.program({ body, headers: new Map(), query: new Map() });
}

const cases: [string, boolean][] = [
  // Keys, escapes, indexes, and a digit key on an object.
  ['name.last', true],
  ['name.middle', false],
  ['fav\\.movie', true],
  ['children.1', true],
  ['children.3', false],
  ['children.x', false],
  ['obj.0', true],
  ['age.x', false],
  ['', false],
  // "#": a count on a list, the key "#" on an object.
  ['children.#', true],
  ['obj.#', true],
  ['name.#', false],
  ['friends.#.first', true],
  // Queries: first match, all matches (always a list, so it exists), nested, patterns.
  ['friends.#(last=="Murphy")', true],
  ['friends.#(last=="Smith")', false],
  ['friends.#(last=="Smith")#', true],
  ['friends.#(last=="Murphy").first', true],
  ['friends.#(last=="Murphy").nope', false],
  ['friends.#(age>45)', true],
  ['friends.#(age>99)', false],
  ['friends.#(age>=68)', true],
  ['friends.#(age<44)', false],
  ['friends.#(age<=44)', true],
  ['friends.#(age!=44)', true],
  ['friends.#(first%"D*")', true],
  ['friends.#(first%"X*")', false],
  ['friends.#(first!%"D*")', true],
  ['friends.#(first%"R?ger")', true],
  ['friends.#(nets.#(=="fb"))', true],
  ['friends.#(nets.#(=="yt"))', false],
  ['friends.#(nets.#>2)', true],
  ['friends.#(nets.#>3)', false],
  ['friends.#(middle)', false],
  ['friends.#(first)', true],
  // Queries on plain values: "any element > 5".
  ['scores.#(>5)', true],
  ['scores.#(>12)', false],
  ['children.#(=="Alex")', true],
  ['children.#(!%"*a*")', true],
  ['flags.#(==true)', true],
  ['flags.#(==false)', true],
  ['flags.#(>false)', true],
  // A string compared with a bare word compares text; a number with text reads it as 0.
  ['friends.#(last==Murphy)', true],
  ['friends.#(age==x)', false],
  ['scores.#(==x)', false],
  // Types GJSON does not compare: objects and lists never match an operator.
  ['#(name=="x")', false],
  // @this and [@this]: the whole body.
  ['@this', true],
  ['@this.age', true],
  ['[@this].#(age>30)', true],
  ['[@this].#(age>40)', false],
  ['[@this].#(children.0=="Sara")', true],
  ['[@this].#(children.0=="Alex")', false],
];

test('GJSON paths translate into CEL that holds exactly where GJSON finds the path', () => {
  for (const [condition, expected] of cases) {
    assert.equal(exists(condition, syntax), expected, condition);
  }
});

test("the conditions of KServe's docs and tests", () => {
  const dog = { predictions: ['dog'] };
  const cat = { predictions: ['cat'] };
  assert.equal(exists('[@this].#(predictions.0=="dog")', dog), true);
  assert.equal(exists('[@this].#(predictions.0=="dog")', cat), false);
  assert.equal(exists('[@this].#(decision_picker==ERROR)', { decision_picker: 'ERROR' }), true);
  assert.equal(exists('[@this].#(decision_picker==ERROR)', { decision_picker: 'SUCCESS' }), false);
  assert.equal(exists('instances.#(modelId=="2")', { instances: [{ modelId: '2' }] }), true);
  assert.equal(exists('predictions.#(label=="dog")', { predictions: [{ label: 'cat' }] }), false);
  // A body that is not an object or list has no keys.
  assert.equal(exists('predictions', 'predictions'), false);
  assert.equal(exists('predictions', [1]), false);
});

test('what GJSON reads otherwise than it looks is refused with the reason, never guessed', () => {
  for (const [condition, reason] of [
    ['child*.2', 'wildcards'],
    ['friends|0', 'pipes'],
    ['children.@reverse', 'modifiers'],
    ['{name.first,age}', 'multipaths'],
    ['friends.#(b==~true)', '"~"'],
    ['friends.#(first%"a\\*")', 'escapes'],
    ['friends.#(age==0x10)', 'ParseFloat'],
    ['friends.#(last=="Murphy"', 'not closed'],
  ] as const) {
    const translated = gjsonToCel(condition);
    assert.ok('unsupported' in translated, condition);
    assert.match(translated.unsupported, new RegExp(reason.replace(/[\\"~]/g, '\\$&')), condition);
  }
});

test('CEL conditions in the executor: body, headers and query; a body that is not JSON does not hold', () => {
  const input = (body: unknown) => ({
    headers: new Map([['x-tier', 'gold']]),
    query: new URLSearchParams('a=1&a=2&b=x'),
    body: () => body,
  });
  const holds = (cel: string, body: unknown) => conditionHolds({ cel }, input(body));
  assert.equal(
    holds('body.predictions[0] == "dog" && headers["x-tier"] == "gold"', { predictions: ['dog'] }),
    true,
  );
  assert.equal(holds('body.values.exists(v, v > 5)', { values: [1, 7] }), true);
  assert.equal(holds('body.values.all(v, v > 5)', { values: [1, 7] }), false);
  assert.equal(holds('query.a == "1" && query.b.startsWith("x")', {}), true);
  assert.equal(holds('has(body.tier) && size(body.tier) == 4', { tier: 'gold' }), true);
  assert.equal(holds('body.missing.deeper == 1', {}), false);
  assert.equal(holds('headers["x-tier"] == "gold"', undefined), true);
  assert.equal(holds('body.x == 1', undefined), false);
});

test('a CEL condition that does not parse or type-check is a diagnostic with the parser message', () => {
  assert.deepEqual(compileCel('body.x =='), { error: 'Unexpected token: EOF' });
  assert.deepEqual(compileCel('headers["a"] + 1 == 2'), {
    error: 'no such overload: string + int',
  });
  assert.deepEqual(compileCel('user.x'), { error: 'Unknown variable: user' });
  assert.deepEqual(compileCel('size(body)'), {
    error: 'the expression is of type int; a condition must be a bool',
  });
});
