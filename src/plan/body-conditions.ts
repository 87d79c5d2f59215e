import { parseJsonPath } from '../spec/json-path.ts';
import type { SwitchCondition } from '../spec/schema.ts';
import type { BodyCondition, BodyField, BodyValueMatch } from './types.ts';

const plainKey = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** One spelling per path: "$['tier']" and "$.tier" name the same value, so one metadata key. */
export function canonicalPath(keys: readonly string[]): string {
  return `$${keys.map((key) => (plainKey.test(key) ? `.${key}` : `['${key.replace(/[\\']/g, '\\$&')}']`)).join('')}`;
}

/** The smallest double above `x`: turns "greater than x" into a range that starts somewhere. */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

function equalsMatch(value: string | number | boolean): BodyValueMatch {
  if (typeof value === 'string') return { kind: 'string', match: { kind: 'exact', value } };
  if (typeof value === 'number') return { kind: 'number', equals: value };
  return { kind: 'bool', equals: value };
}

function valueMatch(when: SwitchCondition): BodyValueMatch | undefined {
  if (when.equals !== undefined) return equalsMatch(when.equals);
  if (when.in !== undefined) {
    const of = when.in.map(equalsMatch);
    return of.length === 1 ? of[0] : { kind: 'any-of', of };
  }
  if (when.prefix !== undefined) {
    return { kind: 'string', match: { kind: 'prefix', value: when.prefix } };
  }
  if (when.regex !== undefined) {
    return { kind: 'string', match: { kind: 'regex', value: when.regex } };
  }
  if (when.gt !== undefined)
    return { kind: 'number-range', from: nextUp(when.gt), below: Infinity };
  if (when.gte !== undefined) return { kind: 'number-range', from: when.gte, below: Infinity };
  if (when.lt !== undefined) return { kind: 'number-range', from: -Infinity, below: when.lt };
  if (when.lte !== undefined) {
    return { kind: 'number-range', from: -Infinity, below: nextUp(when.lte) };
  }
  // `present` stays with the executor: Envoy reads only strings, numbers and booleans out of a
  // body, so it cannot tell a null, an object or a list from a missing value.
  return undefined;
}

/**
 * A body condition as Envoy can test it, or undefined when it cannot:
 * Envoy selects values by non-empty object keys only (no list indexes), and
 * not the body's root itself.
 */
export function bodyCondition(when: SwitchCondition): BodyCondition | undefined {
  if (when.body === undefined) return undefined;
  const steps = parseJsonPath(when.body);
  if (steps === undefined || steps.length === 0) return undefined;
  const keys: string[] = [];
  for (const step of steps) {
    // Envoy's selectors take non-empty object keys only.
    if (typeof step !== 'string' || step === '') return undefined;
    keys.push(step);
  }
  const match = valueMatch(when);
  if (match === undefined) return undefined;
  const field: BodyField = { path: canonicalPath(keys), keys };
  return { field, match };
}
