import { compileCel, type CelProgram } from '../../spec/cel.ts';
import { parseJsonPath, valueAt } from '../../spec/json-path.ts';
import type { SwitchCondition } from '../../spec/schema.ts';

/** What a condition can look at: the request's headers and query, and a payload's JSON. */
export interface ConditionInput {
  /** Lowercased names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly query: URLSearchParams;
  /** The parsed payload, or undefined when the payload is not JSON. */
  readonly body: () => unknown;
}

function compareNumbers(value: unknown, when: SwitchCondition): boolean | undefined {
  const n = typeof value === 'number' ? value : undefined;
  if (when.gt !== undefined) return n !== undefined && n > when.gt;
  if (when.gte !== undefined) return n !== undefined && n >= when.gte;
  if (when.lt !== undefined) return n !== undefined && n < when.lt;
  if (when.lte !== undefined) return n !== undefined && n <= when.lte;
  return undefined;
}

/**
 * RE2's spellings JavaScript reads otherwise: a named group "(?P<x>" is
 * "(?<x>", and flags that lead the pattern ("(?i)", "(?s)", "(?m)") are
 * RegExp flags. Flags set further in, or RE2's "U", JavaScript cannot
 * scope: such a pattern does not compile here and never matches
 * (docs/decisions/0036-conditions-in-cel.md).
 */
function javascriptRegex(pattern: string): RegExp {
  const leading = /^\(\?([ims]+)\)/.exec(pattern);
  const body = (leading ? pattern.slice(leading[0].length) : pattern).replace(/\(\?P</g, '(?<');
  const flags = `u${[...new Set((leading?.[1] ?? '').split(''))].join('')}`;
  return new RegExp(`^(?:${body})$`, flags);
}

/** Compiled once per pattern, as CEL expressions are: a plan's switches run for every request. */
const compiled = new Map<string, RegExp | undefined>();
const celPrograms = new Map<string, CelProgram | undefined>();
/** Plans come and go; the caches forget everything once this many patterns were seen. */
const MAX_CACHED = 10_000;

function cached<T>(cache: Map<string, T | undefined>, key: string, make: () => T | undefined) {
  if (cache.has(key)) return cache.get(key);
  if (cache.size >= MAX_CACHED) cache.clear();
  const made = make();
  cache.set(key, made);
  return made;
}

function regexMatches(pattern: string, value: string): boolean {
  const regex = cached(compiled, pattern, () => {
    try {
      return javascriptRegex(pattern);
    } catch {
      // The spec layer checked the pattern against RE2's syntax; JavaScript may still differ.
      return undefined;
    }
  });
  return regex?.test(value) ?? false;
}

/**
 * What a CEL expression reads, each part made only when it is read. A class:
 * accessors on its prototype cost the evaluation a tenth of those of an
 * object literal (bench/cel-conditions.ts).
 */
class CelRequest {
  readonly #input: ConditionInput;
  #query: Map<string, string> | undefined;

  constructor(input: ConditionInput) {
    this.#input = input;
  }

  get headers(): ReadonlyMap<string, string> {
    return this.#input.headers;
  }

  get query(): ReadonlyMap<string, string> {
    const params = this.#input.query;
    this.#query ??= new Map([...params.keys()].map((key) => [key, params.get(key) ?? '']));
    return this.#query;
  }

  get body(): unknown {
    const body = this.#input.body();
    if (body === undefined) throw new Error('the payload is not JSON');
    return body;
  }
}

function celHolds(expression: string, input: ConditionInput): boolean {
  const program = cached(celPrograms, expression, () => {
    const result = compileCel(expression);
    return 'program' in result ? result.program : undefined;
  });
  return program?.(new CelRequest(input)) ?? false;
}

/**
 * Whether `value` (undefined when absent) satisfies the condition's one
 * operator. Header and query values are strings, so `equals: 3` matches
 * "3" there; body values compare as JSON, so `equals: 3` matches 3 only.
 */
function satisfies(value: unknown, when: SwitchCondition, fromText: boolean): boolean {
  if (when.present !== undefined) return (value !== undefined) === when.present;
  if (value === undefined) return false;
  const numeric = compareNumbers(value, when);
  if (numeric !== undefined) return numeric;
  const same = (expected: string | number | boolean) =>
    fromText ? value === String(expected) : value === expected;
  if (when.equals !== undefined) return same(when.equals);
  if (when.in !== undefined) return when.in.some(same);
  if (typeof value !== 'string') return false;
  if (when.prefix !== undefined) return value.startsWith(when.prefix);
  if (when.regex !== undefined) return regexMatches(when.regex, value);
  return false;
}

export function conditionHolds(when: SwitchCondition, input: ConditionInput): boolean {
  if (when.cel !== undefined) return celHolds(when.cel, input);
  if (when.header !== undefined) {
    return satisfies(input.headers.get(when.header.toLowerCase()), when, true);
  }
  if (when.query !== undefined) {
    return satisfies(input.query.get(when.query) ?? undefined, when, true);
  }
  if (when.body !== undefined) {
    const steps = parseJsonPath(when.body);
    return steps !== undefined && satisfies(valueAt(input.body(), steps), when, false);
  }
  return false;
}
