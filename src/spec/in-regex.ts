const regexSpecials = /[\\^$.|?*+()[\]{}]/g;

/**
 * The regex a header or query `in` list becomes in Envoy (a string matcher
 * has no "one of"): its values, each matched literally. Shared by the
 * planner, which emits it, and the validator, which sizes it as Envoy will.
 */
export function inListRegex(values: readonly (string | number)[]): string {
  return `(?:${values.map((v) => String(v).replace(regexSpecials, '\\$&')).join('|')})`;
}
