/**
 * The JSON paths a switch may test on a payload: "$" followed by ".name",
 * "['name']" or "[index]" steps, e.g. "$.inputs[0].data[2]" or
 * "$['customer-tier']". Deliberately no wildcards or filters: a condition
 * names one value.
 */
export type JsonPathStep = string | number;

const stepPattern =
  /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y;

/** The steps of `path`, or undefined when it is not a path of the form above. */
export function parseJsonPath(path: string): JsonPathStep[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: JsonPathStep[] = [];
  stepPattern.lastIndex = 1;
  while (stepPattern.lastIndex < path.length) {
    const at = stepPattern.lastIndex;
    const match = stepPattern.exec(path);
    if (!match || match.index !== at) return undefined;
    const [, name, index, single, double] = match;
    if (index !== undefined) steps.push(Number(index));
    else steps.push((name ?? single ?? double ?? '').replace(/\\(.)/g, '$1'));
  }
  return steps;
}

/** The value at `steps` in `value`, or undefined when there is none. */
export function valueAt(value: unknown, steps: readonly JsonPathStep[]): unknown {
  let current = value;
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) {
        return undefined;
      }
      current = Object.hasOwn(current, step)
        ? (current as Record<string, unknown>)[step]
        : undefined;
    }
  }
  return current;
}
