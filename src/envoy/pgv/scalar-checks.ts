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

export function checkString(rules: Rules, raw: unknown): Broken | undefined {
  const value = typeof raw === 'string' ? raw : '';
  if (rules.ignore_empty === true && value === '') return undefined;
  // Counted only when a rule needs them: this runs for every string of every resource.
  const hasLengthRule =
    rules.len !== undefined || rules.min_len !== undefined || rules.max_len !== undefined;
  const chars = hasLengthRule ? codePoints(value) : 0;
  const bytes =
    rules.min_bytes !== undefined || rules.max_bytes !== undefined ? Buffer.byteLength(value) : 0;
  if (rules.const !== undefined && value !== rules.const)
    return stringBroken('const', `must be ${JSON.stringify(rules.const)}`);
  if (rules.len !== undefined && chars !== numberOf(rules.len))
    return stringBroken('len', `must be ${show(rules.len)} characters`);
  if (rules.min_len !== undefined && chars < numberOf(rules.min_len)) {
    return stringBroken(
      'min_len',
      numberOf(rules.min_len) === 1
        ? 'must not be empty'
        : `must have at least ${show(rules.min_len)} characters`,
    );
  }
  if (rules.max_len !== undefined && chars > numberOf(rules.max_len))
    return stringBroken('max_len', `must have at most ${show(rules.max_len)} characters`);
  if (rules.min_bytes !== undefined && bytes < numberOf(rules.min_bytes))
    return stringBroken('min_bytes', `must have at least ${show(rules.min_bytes)} bytes`);
  if (rules.max_bytes !== undefined && bytes > numberOf(rules.max_bytes))
    return stringBroken('max_bytes', `must have at most ${show(rules.max_bytes)} bytes`);
  if (typeof rules.pattern === 'string' && !patternOf(rules.pattern).test(value)) {
    return stringBroken('pattern', `${shortened(value)} does not match ${rules.pattern}`);
  }
  if (typeof rules.prefix === 'string' && !value.startsWith(rules.prefix))
    return stringBroken('prefix', `must start with ${JSON.stringify(rules.prefix)}`);
  if (typeof rules.suffix === 'string' && !value.endsWith(rules.suffix))
    return stringBroken('suffix', `must end with ${JSON.stringify(rules.suffix)}`);
  if (typeof rules.contains === 'string' && !value.includes(rules.contains))
    return stringBroken('contains', `must contain ${JSON.stringify(rules.contains)}`);
  if (typeof rules.not_contains === 'string' && value.includes(rules.not_contains))
    return stringBroken('not_contains', `must not contain ${JSON.stringify(rules.not_contains)}`);
  if (Array.isArray(rules.in) && !rules.in.includes(value))
    return stringBroken('in', `must be one of ${rules.in.join(', ')}`);
  if (Array.isArray(rules.not_in) && rules.not_in.includes(value))
    return stringBroken('not_in', `must not be ${shortened(value)}`);
  if (typeof rules.well_known_regex === 'string') {
    const pattern = rules.strict === false ? lenientHeader : wellKnownRegex[rules.well_known_regex];
    if (pattern && !pattern.test(value))
      return stringBroken(
        'well_known_regex',
        `${shortened(value)} is not a valid ${rules.well_known_regex}`,
      );
  }
  return undefined;
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
