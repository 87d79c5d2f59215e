import type { StringMatch } from '../plan/types.ts';

/** Envoy's StringMatcher for a header, query or body string condition. */
export function stringMatcher(match: StringMatch) {
  switch (match.kind) {
    case 'exact':
      return { exact: match.value };
    case 'prefix':
      return { prefix: match.value };
    case 'regex':
      return { safe_regex: { regex: match.value } };
  }
}
