import type { BodyField, BodyValueMatch, GraphPlan } from '../plan/types.ts';
import { bufferRouteConfig } from './ext-proc.ts';
import { memoizeByIdentity } from './memoize.ts';
import { stringMatcher } from './string-matcher.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import type { EnvoyResource } from './resource-set.ts';
import { EXTENSION_CONFIG, typed } from './type-urls.ts';

/** The listener's filter entry and its ECDS resource share this name. */
export const BODY_FILTER = 'switchyard-body';

/** Dynamic-metadata namespace of the body values routes test, keyed by canonical JSON path. */
export const BODY_NAMESPACE = 'switchyard.body';

/** Set when a body that a route must read is not JSON. JSON paths start with "$": no clash. */
export const BODY_UNREADABLE_KEY = 'unreadable';

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

const JSON_TO_METADATA = typed('envoy.extensions.filters.http.json_to_metadata.v3.JsonToMetadata');

/**
 * Envoy's json_to_metadata filter, configured to read every body value
 * some graph tests into dynamic metadata, typed as in JSON; it then has
 * Envoy match the route again. Any content type is read, as the executor
 * would: what counts is whether the body parses.
 */
export function bodyFieldsConfig(fields: readonly BodyField[]) {
  const unreadable = {
    metadata_namespace: BODY_NAMESPACE,
    key: BODY_UNREADABLE_KEY,
    value: { bool_value: true },
  };
  return {
    '@type': JSON_TO_METADATA,
    request_rules: {
      rules: fields.map((field) => ({
        selectors: field.keys.map((key) => ({ key })),
        on_present: { metadata_namespace: BODY_NAMESPACE, key: field.path },
        on_error: unreadable,
      })),
      allow_content_types_regex: { regex: '.*' },
      allow_empty_content_type: true,
    },
  };
}

/** The filter's configuration as its own resource (ECDS): a new value read leaves the listener alone. */
export function bodyFieldsResource(fields: readonly BodyField[]): EnvoyResource {
  return { '@type': EXTENSION_CONFIG, name: BODY_FILTER, typed_config: bodyFieldsConfig(fields) };
}

/**
 * The listener's entry for the filter: its configuration comes by ECDS,
 * and it is off unless a route that needs the body turns it on, so other
 * requests stream.
 */
export function bodyFieldsFilter() {
  return {
    name: BODY_FILTER,
    disabled: true,
    config_discovery: { config_source: ADS_CONFIG_SOURCE, type_urls: [JSON_TO_METADATA] },
  };
}

/** Turns body reading on for one route, with the graph's body limit. */
export function bodyRouteConfig(maxBytes: number) {
  return {
    ...bufferRouteConfig(maxBytes),
    [BODY_FILTER]: { '@type': typed('envoy.config.route.v3.FilterConfig'), config: {} },
  };
}
