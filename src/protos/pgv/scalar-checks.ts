/**
 * The protoc-gen-validate rule families on values: each check returns the
 * broken rule's name and a message, or nothing.
 */
export interface Broken {
  readonly rule: string;
  readonly message: string;
}

type Rules = Readonly<Record<string, unknown>>;

/* eslint-disable no-control-regex -- PGV's header rules are about control characters. */
const wellKnownRegex: Readonly<Record<string, RegExp>> = {
  HTTP_HEADER_NAME: /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/,
  HTTP_HEADER_VALUE: /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/,
};
/** With strict: false, PGV only forbids the bytes that break HTTP framing. */
const lenientHeader = /^[^\u0000\u000A\u000D]*$/;
/* eslint-enable no-control-regex */

const show = (value: unknown): string => JSON.stringify(value);

const patterns = new Map<string, RegExp>();

/** Envoy's patterns, compiled once each. */
function patternOf(source: string): RegExp {
  let pattern = patterns.get(source);
  if (!pattern) {
    pattern = new RegExp(source, 'u');
    patterns.set(source, pattern);
  }
  return pattern;
}

/*
 * The string checks run for every string of every resource: helpers are
 * defined once here rather than as closures per call.
 */
function stringBroken(rule: string, message: string): Broken {
  return { rule: `string.${rule}`, message };
}

function shortened(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') return Number(value);
  if (typeof value === 'object' && value !== null && 'toNumber' in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return 0;
}

interface Bound {
  readonly value: number;
  readonly strict: boolean;
}

function isAbove(value: number, b: Bound): boolean {
  return b.strict ? value > b.value : value >= b.value;
}

function isBelow(value: number, b: Bound): boolean {
  return b.strict ? value < b.value : value <= b.value;
}

function boundOf(rules: Rules, strictKey: string, looseKey: string): Bound | undefined {
  if (rules[strictKey] !== undefined) return { value: numberOf(rules[strictKey]), strict: true };
  if (rules[looseKey] !== undefined) return { value: numberOf(rules[looseKey]), strict: false };
  return undefined;
}

/**
 * The check of a number under `rules` (const, lt, lte, gt, gte, in, not_in;
 * an upper bound below the lower one means "outside"), with the rules read
 * once: every route and cluster carries numbers, and a passing value must
 * cost no allocation.
 */
export function numberCheck(family: string, rules: Rules): (raw: unknown) => Broken | undefined {
  const only = rules.const === undefined ? undefined : numberOf(rules.const);
  const lower = boundOf(rules, 'gt', 'gte');
  const upper = boundOf(rules, 'lt', 'lte');
  const lowerRule = `${family}.${lower?.strict === true ? 'gt' : 'gte'}`;
  const upperRule = `${family}.${upper?.strict === true ? 'lt' : 'lte'}`;
  const outside = lower && upper && upper.value < lower.value ? { lower, upper } : undefined;
  const allowed = Array.isArray(rules.in) ? new Set(rules.in.map(numberOf)) : undefined;
  const forbidden = Array.isArray(rules.not_in) ? new Set(rules.not_in.map(numberOf)) : undefined;
  return (raw) => {
    const value = numberOf(raw);
    if (only !== undefined && value !== only) {
      return {
        rule: `${family}.const`,
        message: `must be ${show(rules.const)}, got ${String(value)}`,
      };
    }
    if (outside) {
      if (!isAbove(value, outside.lower) && !isBelow(value, outside.upper)) {
        const range = `${String(outside.upper.value)}..${String(outside.lower.value)}`;
        return { rule: lowerRule, message: `must be outside ${range}, got ${String(value)}` };
      }
    } else {
      if (lower && !isAbove(value, lower)) {
        const symbol = lower.strict ? '>' : '≥';
        return {
          rule: lowerRule,
          message: `must be ${symbol} ${String(lower.value)}, got ${String(value)}`,
        };
      }
      if (upper && !isBelow(value, upper)) {
        const symbol = upper.strict ? '<' : '≤';
        return {
          rule: upperRule,
          message: `must be ${symbol} ${String(upper.value)}, got ${String(value)}`,
        };
      }
    }
    if (allowed && !allowed.has(value)) {
      return {
        rule: `${family}.in`,
        message: `must be one of ${[...allowed].join(', ')}, got ${String(value)}`,
      };
    }
    if (forbidden?.has(value)) {
      return { rule: `${family}.not_in`, message: `must not be ${String(value)}` };
    }
    return undefined;
  };
}

/** PGV counts characters as code points: a surrogate pair is one. */
function codePoints(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      count -= 1;
      i += 1;
    }
  }
  return count;
}

/** At least `n` code points: a string of 2n UTF-16 units has, whatever it holds. */
function hasAtLeast(value: string, n: number): boolean {
  return value.length >= 2 * n || codePoints(value) >= n;
}

function hasAtMost(value: string, n: number): boolean {
  return value.length <= n || codePoints(value) <= n;
}

type StringRule = (value: string) => Broken | undefined;

/**
 * The check of a string under `rules`, with the rules read once and only
 * the ones present kept, in PGV's order: every resource is mostly strings.
 */
export function stringCheck(rules: Rules): (raw: unknown) => Broken | undefined {
  const checks: StringRule[] = [];
  const add = (holds: (value: string) => boolean, rule: string, message: (v: string) => string) =>
    checks.push((value) => (holds(value) ? undefined : stringBroken(rule, message(value))));
  const bound = (key: string) => (rules[key] === undefined ? undefined : numberOf(rules[key]));
  const [len, minLen, maxLen] = [bound('len'), bound('min_len'), bound('max_len')];
  const [minBytes, maxBytes] = [bound('min_bytes'), bound('max_bytes')];
  if (rules.const !== undefined) {
    add(
      (v) => v === rules.const,
      'const',
      () => `must be ${show(rules.const)}`,
    );
  }
  if (len !== undefined) {
    add(
      (v) => codePoints(v) === len,
      'len',
      () => `must be ${String(len)} characters`,
    );
  }
  if (minLen !== undefined) {
    const message =
      minLen === 1 ? 'must not be empty' : `must have at least ${String(minLen)} characters`;
    add(
      (v) => hasAtLeast(v, minLen),
      'min_len',
      () => message,
    );
  }
  if (maxLen !== undefined) {
    const message = `must have at most ${String(maxLen)} characters`;
    add(
      (v) => hasAtMost(v, maxLen),
      'max_len',
      () => message,
    );
  }
  if (minBytes !== undefined) {
    const message = `must have at least ${String(minBytes)} bytes`;
    add(
      (v) => Buffer.byteLength(v) >= minBytes,
      'min_bytes',
      () => message,
    );
  }
  if (maxBytes !== undefined) {
    const message = `must have at most ${String(maxBytes)} bytes`;
    add(
      (v) => Buffer.byteLength(v) <= maxBytes,
      'max_bytes',
      () => message,
    );
  }
  const { pattern, prefix, suffix, contains } = rules;
  if (typeof pattern === 'string') {
    const regex = patternOf(pattern);
    add(
      (v) => regex.test(v),
      'pattern',
      (v) => `${shortened(v)} does not match ${pattern}`,
    );
  }
  if (typeof prefix === 'string') {
    add(
      (v) => v.startsWith(prefix),
      'prefix',
      () => `must start with ${show(prefix)}`,
    );
  }
  if (typeof suffix === 'string') {
    add(
      (v) => v.endsWith(suffix),
      'suffix',
      () => `must end with ${show(suffix)}`,
    );
  }
  if (typeof contains === 'string') {
    add(
      (v) => v.includes(contains),
      'contains',
      () => `must contain ${show(contains)}`,
    );
  }
  const notContains = rules.not_contains;
  if (typeof notContains === 'string') {
    const message = `must not contain ${show(notContains)}`;
    add(
      (v) => !v.includes(notContains),
      'not_contains',
      () => message,
    );
  }
  if (Array.isArray(rules.in)) {
    const allowed = new Set(rules.in);
    const message = `must be one of ${rules.in.join(', ')}`;
    add(
      (v) => allowed.has(v),
      'in',
      () => message,
    );
  }
  if (Array.isArray(rules.not_in)) {
    const forbidden = new Set(rules.not_in);
    add(
      (v) => !forbidden.has(v),
      'not_in',
      (v) => `must not be ${shortened(v)}`,
    );
  }
  const wellKnown = rules.well_known_regex;
  const header =
    typeof wellKnown === 'string'
      ? rules.strict === false
        ? lenientHeader
        : wellKnownRegex[wellKnown]
      : undefined;
  if (header) {
    const name = String(wellKnown);
    add(
      (v) => header.test(v),
      'well_known_regex',
      (v) => `${shortened(v)} is not a valid ${name}`,
    );
  }
  const ignoreEmpty = rules.ignore_empty === true;
  return (raw) => {
    const value = typeof raw === 'string' ? raw : '';
    if (ignoreEmpty && value === '') return undefined;
    for (const check of checks) {
      const broken = check(value);
      if (broken) return broken;
    }
    return undefined;
  };
}

export function checkBytes(rules: Rules, raw: unknown): Broken | undefined {
  const length =
    raw instanceof Uint8Array
      ? raw.length
      : typeof raw === 'string'
        ? Buffer.from(raw, 'base64').length
        : 0;
  if (rules.min_len !== undefined && length < numberOf(rules.min_len))
    return { rule: 'bytes.min_len', message: `must have at least ${show(rules.min_len)} bytes` };
  if (rules.max_len !== undefined && length > numberOf(rules.max_len))
    return { rule: 'bytes.max_len', message: `must have at most ${show(rules.max_len)} bytes` };
  return undefined;
}

export function checkBool(rules: Rules, raw: unknown): Broken | undefined {
  if (rules.const !== undefined && (raw === true) !== rules.const)
    return { rule: 'bool.const', message: `must be ${show(rules.const)}` };
  return undefined;
}

const durationText = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

function textNanos(text: string): bigint | undefined {
  const match = durationText.exec(text);
  if (!match) return undefined;
  const nanos = BigInt(match[2] ?? '0') * 1_000_000_000n + BigInt((match[3] ?? '').padEnd(9, '0'));
  return match[1] ? -nanos : nanos;
}

/**
 * Durations as written, read once each: a config repeats the same few
 * ("1s", "0.25s") thousands of times. Emptied when full, so it stays small.
 */
const textDurations = new Map<string, bigint | undefined>();

/** Durations in nanoseconds, from JSON ("1.5s") or a parsed option ({seconds, nanos}). */
export function durationNanos(value: unknown): bigint | undefined {
  if (typeof value === 'string') {
    if (textDurations.has(value)) return textDurations.get(value);
    if (textDurations.size >= 4096) textDurations.clear();
    const nanos = textNanos(value);
    textDurations.set(value, nanos);
    return nanos;
  }
  if (typeof value === 'object' && value !== null) {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    return (
      BigInt(Math.trunc(numberOf(seconds))) * 1_000_000_000n + BigInt(Math.trunc(numberOf(nanos)))
    );
  }
  return undefined;
}

const durationBounds: readonly [rule: string, symbol: string][] = [
  ['const', '='],
  ['lt', '<'],
  ['lte', '≤'],
  ['gt', '>'],
  ['gte', '≥'],
];

function durationHolds(rule: string, value: bigint, bound: bigint): boolean {
  switch (rule) {
    case 'const':
      return value === bound;
    case 'lt':
      return value < bound;
    case 'lte':
      return value <= bound;
    case 'gt':
      return value > bound;
    default:
      return value >= bound;
  }
}

function showNanos(nanos: bigint): string {
  return `${(Number(nanos) / 1e9).toString()}s`;
}

/**
 * The check of a Duration under `rules`, with the rules' bounds read once:
 * every route and cluster carries durations.
 */
export function durationCheck(rules: Rules): (raw: unknown) => Broken | undefined {
  const bounds = durationBounds.flatMap(([rule, symbol]) =>
    rules[rule] === undefined ? [] : [{ rule, symbol, bound: durationNanos(rules[rule]) ?? 0n }],
  );
  return (raw) => {
    const value = durationNanos(raw);
    if (value === undefined)
      return { rule: 'duration', message: `${JSON.stringify(raw)} is not a duration` };
    for (const { rule, symbol, bound } of bounds) {
      if (!durationHolds(rule, value, bound)) {
        return {
          rule: `duration.${rule}`,
          message: `must be ${symbol} ${showNanos(bound)}, got ${showNanos(value)}`,
        };
      }
    }
    return undefined;
  };
}
