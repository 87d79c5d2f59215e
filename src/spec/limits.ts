/**
 * Bounds a spec value must keep because of where it lands in Envoy's
 * configuration: each is Envoy's own, found in its source and checked
 * against Envoy 1.40 on both sides (test/e2e/envoy-accepts.test.ts).
 */

/** The largest value of a protobuf uint32 (UInt32Value): one more wraps to 0 on the wire. */
export const UINT32_MAX = 4_294_967_295;

/**
 * The longest duration Envoy takes where it converts one to milliseconds
 * (route and per-try timeouts, outlier detection intervals): its
 * DurationUtil refuses a Duration whose seconds exceed
 * (INT64_MAX − 999,999,999) / 10⁹ = 9,223,372,035 ("Duration out-of-range").
 */
export const MAX_DURATION_MS = 9_223_372_035_999;

/** Envoy's QueryParameterMatcher takes names of at most this many bytes. */
export const MAX_QUERY_NAME_BYTES = 1024;

/**
 * How deep a document may nest. A graph needs about ten levels; a reader
 * that recursed through thousands of levels would run out of stack.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * How many nodes deep a graph may nest (the longest chain from its entry:
 * a sequence whose step is a sequence, and so on). The planner and the
 * executor walk a graph recursively; past about 1,800 levels Node's stack
 * runs out (measured), so the bound leaves room. Switchyard's, not Envoy's:
 * a plan this deep travels by reference (decision 56).
 */
export const MAX_GRAPH_DEPTH = 1_000;
