/**
 * KServe's step conditions are GJSON paths: KServe's router takes a step
 * when `gjson.GetBytes(body, condition).Exists()`. This translates such a
 * path into a CEL expression over `body` that is true exactly when the
 * path exists, for the part of GJSON that KServe's docs and tests use:
 * keys, indexes, `#` counts, `#.key`, queries `#(...)` and `#(...)#` with
 * `==` `!=` `<` `<=` `>` `>=` `%` `!%` (nested queries too), `@this` and
 * `[@this]`. Anything else is refused with the reason, never guessed.
 * The rules, each from GJSON's source: docs/decisions/0037-importing-kserve-and-seldon.md.
 */

export type GjsonTranslation = { readonly cel: string } | { readonly unsupported: string };

class Unsupported extends Error {}

/** One step of a path. */
type Component =
  | { readonly kind: 'key'; readonly name: string }
  | { readonly kind: 'count' }
  | { readonly kind: 'each'; readonly rest: string; readonly afterQuery: boolean }
  | { readonly kind: 'query'; readonly query: Query; readonly all: boolean };

interface Query {
  readonly path: string;
  readonly op: string;
  readonly value: string;
}

/** What a test can know of a value: GJSON compares strings, numbers and booleans only. */
interface Value {
  readonly expr: string;
  readonly kind: 'any' | 'number' | 'array';
}

type Test = (value: Value) => string;

function isDigits(text: string): boolean {
  return /^[0-9]+$/.test(text);
}

function celString(text: string): string {
  return JSON.stringify(text);
}

/**
 * GJSON's parseQuery: the text from "#(" to its ")" (or "#[" to "]"); the
 * operator starts at the first of ! = < > % at the query's own depth.
 */
function parseQuery(text: string): { query: Query; end: number } {
  let depth = 1;
  let opAt = 0;
  let i = 2;
  for (; i < text.length; i++) {
    const c = text[i];
    if (depth === 1 && opAt === 0 && c !== undefined && '!=<>%'.includes(c)) {
      opAt = i;
      continue;
    }
    if (c === '\\') i++;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth === 0) break;
    } else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    }
  }
  if (depth > 0) throw new Unsupported(`the query in ${JSON.stringify(text)} is not closed`);
  if (opAt === 0) return { query: { path: text.slice(2, i).trim(), op: '', value: '' }, end: i };
  let value = text.slice(opAt, i).trim();
  const two = value.slice(0, 2);
  let op: string;
  if (value.length === 1) op = value;
  else if (['!=', '!%', '<=', '>='].includes(two)) op = two;
  else if (two === '==') {
    value = value.slice(1);
    op = '=';
  } else op = value.slice(0, 1);
  value = value.slice(op.length).trim();
  if (value.length > 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1);
    if (value.includes('\\')) {
      throw new Unsupported(`the query value ${JSON.stringify(value)} holds escapes`);
    }
  }
  return { query: { path: text.slice(2, opAt).trim(), op, value }, end: i };
}

/** The components of a path (after any leading @this / [@this], which the caller handles). */
function components(path: string): Component[] {
  const out: Component[] = [];
  let i = 0;
  for (;;) {
    if (path.startsWith('#', i)) {
      const next = path[i + 1];
      if (next === undefined) {
        out.push({ kind: 'count' });
        return out;
      }
      if (next === '.') {
        out.push({ kind: 'each', rest: path.slice(i + 2), afterQuery: false });
        return out;
      }
      if (next === '(' || next === '[') {
        const { query, end } = parseQuery(path.slice(i));
        i += end + 1;
        const all = path[i] === '#';
        if (all) i++;
        out.push({ kind: 'query', query, all });
        if (i === path.length) return out;
        if (path[i] !== '.') {
          throw new Unsupported(`"${path.slice(i, i + 1)}" after a query is not supported`);
        }
        i++;
        if (all) {
          // "#(...)#.rest" reads rest in every match: the result is a list either way.
          out.push({ kind: 'each', rest: path.slice(i), afterQuery: true });
          return out;
        }
        continue;
      }
    }
    let name = '';
    for (; i < path.length && path[i] !== '.'; i++) {
      const c = path[i] ?? '';
      if (c === '\\') {
        i++;
        name += path[i] ?? '';
      } else if ('*?|@[]{}!'.includes(c)) {
        throw new Unsupported(
          `"${c}" in ${JSON.stringify(path)}: GJSON wildcards, pipes, modifiers, multipaths and literals are not translated`,
        );
      } else name += c;
    }
    out.push({ kind: 'key', name });
    if (i >= path.length) return out;
    i++;
  }
}

/** A CEL double literal for the number GJSON parses the query value as (Go's ParseFloat, 0 if it fails). */
function goFloat(value: string): string {
  let number = 0;
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(value)) number = Number(value);
  else if (/^[+-]?(0x|inf(inity)?$|nan$)/i.test(value)) {
    throw new Unsupported(`${JSON.stringify(value)} would be read by Go's ParseFloat`);
  }
  if (!Number.isFinite(number)) throw new Unsupported(`${value} is not a finite number`);
  return Number.isInteger(number) && Math.abs(number) < 1e21
    ? `${String(number)}.0`
    : String(number);
}

/** GJSON's `%` pattern ("*" any run, "?" one character) as an anchored regex for CEL's matches(). */
function globRegex(pattern: string): string {
  if (pattern.includes('\\')) {
    throw new Unsupported(`the pattern ${JSON.stringify(pattern)} holds "\\"`);
  }
  let regex = '';
  for (const c of pattern) {
    if (c === '*') regex += '[\\s\\S]*';
    else if (c === '?') regex += '(?:[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]|[\\s\\S])';
    else regex += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return `^(?:${regex})$`;
}

/** GJSON's queryMatches on a value that exists, as CEL: one branch per JSON type it compares. */
function comparison(query: Query): Test {
  const { op, value } = query;
  if (op === '') return () => 'true';
  if (value.startsWith('~')) throw new Unsupported('the "~" boolean conversion is not translated');
  if (!['=', '!=', '<', '<=', '>', '>=', '%', '!%'].includes(op)) {
    throw new Unsupported(`the operator ${JSON.stringify(op)} is not GJSON's`);
  }
  const celOp = op === '=' ? '==' : op;
  const text = celString(value);
  const number = op === '%' || op === '!%' ? undefined : goFloat(value);
  const isTrue =
    (op === '=' && value === 'true') ||
    (op === '!=' && value !== 'true') ||
    (op === '>' && value === 'false') ||
    op === '>=';
  const isFalse =
    (op === '=' && value === 'false') ||
    (op === '!=' && value !== 'false') ||
    (op === '<' && value === 'true') ||
    op === '<=';
  return ({ expr, kind }) => {
    if (kind === 'array') return 'false';
    const branches: string[] = [];
    if (kind === 'any') {
      const onString =
        op === '%'
          ? `${expr}.matches(${celString(globRegex(value))})`
          : op === '!%'
            ? `!${expr}.matches(${celString(globRegex(value))})`
            : `${expr} ${celOp} ${text}`;
      branches.push(`(type(${expr}) == string && ${onString})`);
    }
    if (number !== undefined) {
      branches.push(
        kind === 'number'
          ? `${expr} ${celOp} ${number}`
          : `(type(${expr}) == double && ${expr} ${celOp} ${number})`,
      );
    }
    if (kind === 'any' && isTrue) branches.push(`${expr} == true`);
    if (kind === 'any' && isFalse) branches.push(`${expr} == false`);
    if (branches.length === 0) return 'false';
    return branches.length === 1 ? (branches[0] ?? 'false') : `(${branches.join(' || ')})`;
  };
}

/** Fresh names for comprehension variables, one per nesting level. */
class Names {
  #next = 0;
  fresh(): string {
    return `e${String(this.#next++)}`;
  }
}

/**
 * CEL that is true when `path` exists in `value` and `test` holds on what it
 * finds; it never raises an error (every access is guarded by its type).
 */
function holds(comps: readonly Component[], value: string, test: Test, names: Names): string {
  const [head, ...rest] = comps;
  if (!head) return test({ expr: value, kind: 'any' });
  const inMap = (key: string) =>
    `(type(${value}) == map && ${celString(key)} in ${value} && ${holds(rest, `${value}[${celString(key)}]`, test, names)})`;
  switch (head.kind) {
    case 'key': {
      if (!isDigits(head.name)) return inMap(head.name);
      const index = Number(head.name);
      if (!Number.isSafeInteger(index))
        throw new Unsupported(`the index ${head.name} is too large`);
      return `(${inMap(head.name)} || (type(${value}) == list && size(${value}) > ${String(index)} && ${holds(rest, `${value}[${String(index)}]`, test, names)}))`;
    }
    case 'count':
      // "#" on an object names its key "#".
      return `((type(${value}) == list && ${test({ expr: `double(size(${value}))`, kind: 'number' })}) || ${inMap('#')})`;
    case 'each': {
      const onList = `(type(${value}) == list && ${test({ expr: value, kind: 'array' })})`;
      if (head.afterQuery) return onList;
      // On an object, "#.rest" is the key "#" and then rest.
      const key = `${value}[${celString('#')}]`;
      return `(${onList} || (type(${value}) == map && ${celString('#')} in ${value} && ${holds(components(head.rest), key, test, names)}))`;
    }
    case 'query': {
      const element = names.fresh();
      const inner = components(head.query.path);
      const matches =
        head.query.path === ''
          ? // A query without a path tests elements that are not objects or lists themselves.
            `(type(${element}) != map && type(${element}) != list && ${comparison(head.query)({ expr: element, kind: 'any' })})`
          : `((type(${element}) == map || type(${element}) == list) && ${holds(inner, element, comparison(head.query), names)})`;
      if (head.all) return `(type(${value}) == list && ${test({ expr: value, kind: 'array' })})`;
      const first = rest.length === 0 ? undefined : `${value}.filter(${element}, ${matches})[0]`;
      // A query on an object would look up a key spelt like the query: treated as absent.
      return `(type(${value}) == list && ${value}.exists(${element}, ${matches})${first === undefined ? (test === exists ? '' : ` && ${test({ expr: `${value}.filter(${element}, ${matches})[0]`, kind: 'any' })}`) : ` && ${holds(rest, first, test, names)}`})`;
    }
  }
}

const exists: Test = () => 'true';

/** The CEL condition true exactly when KServe's router finds `condition` in `body`. */
export function gjsonToCel(condition: string, variable = 'body'): GjsonTranslation {
  try {
    const names = new Names();
    if (condition === '@this') return { cel: 'true' };
    if (condition.startsWith('@this.')) {
      return { cel: holds(components(condition.slice(6)), variable, exists, names) };
    }
    if (condition.startsWith('[@this].')) {
      // [@this] is the list holding the whole body: a query on it tests the body itself.
      const rest = components(condition.slice(8));
      const [head, ...after] = rest;
      if (head?.kind === 'query' && !head.all && after.length === 0) {
        const query = head.query;
        if (query.path === '') {
          return {
            cel: `(type(${variable}) != map && type(${variable}) != list && ${comparison(query)({ expr: variable, kind: 'any' })})`,
          };
        }
        return {
          cel: `((type(${variable}) == map || type(${variable}) == list) && ${holds(components(query.path), variable, comparison(query), names)})`,
        };
      }
      return { cel: holds(rest, `[${variable}]`, exists, names) };
    }
    if (condition === '[@this]') return { cel: 'true' };
    return { cel: holds(components(condition), variable, exists, names) };
  } catch (error) {
    if (error instanceof Unsupported) return { unsupported: error.message };
    throw error;
  }
}
