import type { Protocol } from '../spec/schema.ts';
import { isObject, type Json } from './json.ts';
import type { Outcome } from './outcome.ts';

/** A Seldon ROUTER's answer: one child, every child (-1), or the request itself (-2). */
export type RouterChoice =
  | { readonly kind: 'child'; readonly index: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'self' };

/** `n`, `[n]` or `[[n]]`: routers written for either Seldon convention work. */
function unwrap(value: Json | undefined): Json | undefined {
  let current = value;
  for (let depth = 0; depth < 2 && Array.isArray(current); depth++) current = current[0];
  return current;
}

function carried(body: Json, protocol: Protocol): Json | undefined {
  if (!isObject(body)) return unwrap(body);
  switch (protocol) {
    case 'seldon': {
      const data = isObject(body.data) ? body.data : {};
      if (data.ndarray !== undefined) return unwrap(data.ndarray);
      const tensor = isObject(data.tensor) ? data.tensor : {};
      return unwrap(tensor.values);
    }
    case 'v1':
      return unwrap(body.predictions);
    case 'v2': {
      const outputs = Array.isArray(body.outputs) ? body.outputs : [];
      const first = outputs[0];
      return unwrap(isObject(first) ? first.data : undefined);
    }
  }
}

export function parseRouterAnswer(
  body: Json,
  protocol: Protocol,
  children: number,
): Outcome<RouterChoice> {
  const value = carried(body, protocol);
  const range = `0..${String(children - 1)}, -1 for every child or -2 for the request itself`;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return {
      ok: false,
      reason: `expected a child index (${range}), got ${JSON.stringify(value ?? null)}`,
    };
  }
  if (value === -1) return { ok: true, value: { kind: 'all' } };
  if (value === -2) return { ok: true, value: { kind: 'self' } };
  if (value < 0 || value >= children) {
    return { ok: false, reason: `child index ${String(value)} is out of range: expected ${range}` };
  }
  return { ok: true, value: { kind: 'child', index: value } };
}
