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

function regexMatches(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u').test(value);
  } catch {
    // The spec layer checked the pattern against RE2's syntax; JavaScript may still differ.
    return false;
  }
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
