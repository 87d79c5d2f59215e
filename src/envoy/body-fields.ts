import type { BodyField, BodyValueMatch, GraphPlan } from '../plan/types.ts';
import { bufferRouteConfig } from './ext-proc.ts';
import { memoizeByIdentity } from './memoize.ts';
import { typed } from './type-urls.ts';

export const BODY_FILTER = 'envoy.filters.http.json_to_metadata';

/** Dynamic-metadata namespace of the body values routes test, keyed by canonical JSON path. */
export const BODY_NAMESPACE = 'switchyard.body';

/** Set when a body that a route must read is not JSON. JSON paths start with "$": no clash. */
export const BODY_UNREADABLE_KEY = 'unreadable';

function stringMatcher(match: Extract<BodyValueMatch, { kind: 'string' }>['match']) {
  switch (match.kind) {
    case 'exact':
      return { exact: match.value };
    case 'prefix':
      return { prefix: match.value };
    case 'regex':
      return { safe_regex: { regex: match.value } };
  }
}

/** Proto3 JSON spells the infinities as strings. */
function double(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

export function bodyValueMatcher(match: BodyValueMatch): Record<string, unknown> {
  switch (match.kind) {
    case 'string':
      return { string_match: stringMatcher(match.match) };
    case 'number':
      return { double_match: { exact: double(match.equals) } };
    case 'number-range':
      return { double_match: { range: { start: double(match.from), end: double(match.below) } } };
    case 'bool':
      return { bool_match: match.equals };
    case 'any-of':
      return { or_match: { value_matchers: match.of.map(bodyValueMatcher) } };
  }
}

export function bodyMetadataMatcher(key: string, value: Record<string, unknown>) {
  return { filter: BODY_NAMESPACE, path: [{ key }], value };
}

/** The body values one graph's routes test, each once. */
export const graphBodyFields = memoizeByIdentity((graph: GraphPlan): BodyField[] => {
  const byPath = new Map<string, BodyField>();
  for (const rule of graph.rules) {
    for (const condition of rule.body) byPath.set(condition.field.path, condition.field);
  }
  return [...byPath.values()];
});

/**
 * The listener's json_to_metadata filter: reads every body value some
 * graph tests into dynamic metadata, typed as in JSON, and has Envoy match
 * the route again. Off unless a route that needs the body turns it on, so
 * other requests stream. Any content type is read, as the executor would:
 * what counts is whether the body parses.
 */
export function bodyFieldsFilter(fields: readonly BodyField[]) {
  const unreadable = {
    metadata_namespace: BODY_NAMESPACE,
    key: BODY_UNREADABLE_KEY,
    value: { bool_value: true },
  };
  return {
    name: BODY_FILTER,
    disabled: true,
    typed_config: {
      '@type': typed('envoy.extensions.filters.http.json_to_metadata.v3.JsonToMetadata'),
      request_rules: {
        rules: fields.map((field) => ({
          selectors: field.keys.map((key) => ({ key })),
          on_present: { metadata_namespace: BODY_NAMESPACE, key: field.path },
          on_error: unreadable,
        })),
        allow_content_types_regex: { regex: '.*' },
        allow_empty_content_type: true,
      },
    },
  };
}

/** Turns body reading on for one route, with the graph's body limit. */
export function bodyRouteConfig(maxBytes: number) {
  return {
    ...bufferRouteConfig(maxBytes),
    [BODY_FILTER]: { '@type': typed('envoy.config.route.v3.FilterConfig'), config: {} },
  };
}
