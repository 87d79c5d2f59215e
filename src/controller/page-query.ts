import type { Outcome } from '../protocols/outcome.ts';

/** accepted: served to the group; programmed: every Envoy of it ACKed it; rejected: see why. */
export type GraphState = 'accepted' | 'programmed' | 'rejected';

export const GRAPH_STATES: readonly GraphState[] = ['programmed', 'accepted', 'rejected'];

/** Which graphs GET /ui/graphs describes: one page of those matching. */
export interface PageQuery {
  /** Part of the graph's id or group, any case; empty matches every graph. */
  readonly filter: string;
  readonly state?: GraphState;
  readonly offset: number;
  readonly limit: number;
}

/**
 * A page draws each of its graphs with Graphviz, a few milliseconds each:
 * the page size, not the fleet, bounds what a poll costs the control plane.
 */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const parameters = ['filter', 'state', 'offset', 'limit'];

/** The query of GET /ui/graphs, or why it is not one. */
export function parsePageQuery(query: URLSearchParams): Outcome<PageQuery> {
  for (const name of query.keys()) {
    if (!parameters.includes(name)) {
      return {
        ok: false,
        reason: `unknown parameter "${name}": /ui/graphs takes ${parameters.join(', ')}`,
      };
    }
  }
  const state = query.get('state') ?? '';
  if (state !== '' && !(GRAPH_STATES as readonly string[]).includes(state)) {
    return { ok: false, reason: `state "${state}" is not one of ${GRAPH_STATES.join(', ')}` };
  }
  const offset = count(query, 'offset', 0, Number.MAX_SAFE_INTEGER);
  if (!offset.ok) return offset;
  const limit = count(query, 'limit', 1, MAX_PAGE_SIZE);
  if (!limit.ok) return limit;
  return {
    ok: true,
    value: {
      filter: query.get('filter') ?? '',
      ...(state !== '' && { state: state as GraphState }),
      offset: offset.value ?? 0,
      limit: limit.value ?? DEFAULT_PAGE_SIZE,
    },
  };
}

function count(
  query: URLSearchParams,
  name: string,
  min: number,
  max: number,
): Outcome<number | undefined> {
  const text = query.get(name);
  if (text === null) return { ok: true, value: undefined };
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    return {
      ok: false,
      reason: `${name} "${text}" is not a whole number from ${String(min)} to ${String(max)}`,
    };
  }
  return { ok: true, value };
}
