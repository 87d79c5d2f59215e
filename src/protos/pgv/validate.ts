import protobuf from 'protobufjs';
import { oneofRequired, rulesOf, type FieldRules } from './rules.ts';
import { isEmptyAny } from '../proto-json.ts';
import {
  checkBool,
  checkBytes,
  durationCheck,
  numberCheck,
  stringCheck,
  type Broken,
} from './scalar-checks.ts';

/** A resource field that breaks one of Envoy's protoc-gen-validate rules: Envoy would NACK it. */
export interface Violation {
  /** e.g. "Cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value" */
  readonly path: string;
  /** e.g. "uint32.lte" */
  readonly rule: string;
  readonly message: string;
}

const numericFamilies: Readonly<Record<string, string>> = {
  int32: 'int32',
  sint32: 'int32',
  sfixed32: 'int32',
  int64: 'int64',
  sint64: 'int64',
  sfixed64: 'int64',
  uint32: 'uint32',
  fixed32: 'uint32',
  uint64: 'uint64',
  fixed64: 'uint64',
  double: 'double',
  float: 'float',
};

const wrapperScalar: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

/** Types whose JSON form is not an object of their fields: their rules are checked as values. */
const opaqueTypes = new Set([
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
]);

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/**
 * One resource's walk: where it is (a stack of path segments, joined only
 * when a rule is broken) and what it found.
 */
class Walk {
  readonly violations: Violation[] = [];
  readonly #base: string;
  readonly #segments: (string | number)[] = [];

  constructor(base: string) {
    this.#base = base;
  }

  enter(segment: string | number): void {
    this.#segments.push(segment);
  }

  leave(): void {
    this.#segments.pop();
  }

  report(broken: Broken | undefined): void {
    if (!broken) return;
    let path = this.#base;
    for (const segment of this.#segments) {
      path += typeof segment === 'number' ? `[${String(segment)}]` : segment;
    }
    this.violations.push({ path, ...broken });
  }
}

/** Checks one value of a field (the field itself, a repeated item, a map value). */
type ValueCheck = (walk: Walk, value: unknown) => void;

interface FieldCheck {
  /** The field's proto name: the key in proto3 JSON as Switchyard writes it. */
  readonly name: string;
  readonly segment: string;
  readonly partOf: boolean;
  /** Undefined when no value of the field can break a rule. */
  readonly check: ValueCheck | undefined;
}

interface MessageCheck {
  readonly fields: ReadonlyMap<string, FieldCheck>;
  /** Fields outside oneofs whose rules an unset value can break (min_len, required, ...). */
  readonly unsetRuled: readonly FieldCheck[];
  readonly requiredOneofs: readonly {
    readonly segment: string;
    readonly members: readonly string[];
    readonly message: string;
  }[];
  readonly notAnObject: Broken;
  readonly fullName: string;
}

/**
 * Envoy's rules compiled into checks, once per message type and field, so
 * checking a resource is a walk of its JSON with no reflection on the way.
 * Types are compiled on first use (Envoy's protos are large and recursive).
 */
class Checks {
  readonly #root: protobuf.Root;
  readonly #messages = new Map<protobuf.Type, MessageCheck>();
  readonly #anyTypes = new Map<string, protobuf.Type | undefined>();

  constructor(root: protobuf.Root) {
    this.#root = root;
  }

  message(type: protobuf.Type): MessageCheck {
    let check = this.#messages.get(type);
    if (!check) {
      const fields = new Map<string, FieldCheck>();
      const unsetRuled: FieldCheck[] = [];
      check = {
        fields,
        unsetRuled,
        requiredOneofs: type.oneofsArray.filter(oneofRequired).map((oneof) => {
          const members = oneof.fieldsArray.map((f) => f.name);
          return {
            segment: `.${oneof.name}`,
            members,
            message: `exactly one of ${members.join(', ')} must be set`,
          };
        }),
        notAnObject: { rule: 'type', message: `${type.name} must be an object` },
        fullName: type.fullName.slice(1),
      };
      // Registered before its fields compile: a field may be of this very type.
      this.#messages.set(type, check);
      for (const field of type.fieldsArray) {
        const compiled = this.#field(field.resolve());
        fields.set(field.name, compiled);
        if (!field.partOf && rulesOf(field) !== undefined) unsetRuled.push(compiled);
      }
    }
    return check;
  }

  walkMessage(walk: Walk, check: MessageCheck, json: unknown): void {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      walk.report(check.notAnObject);
      return;
    }
    const object = json as Record<string, unknown>;
    for (const key in object) {
      const value = object[key];
      if (key === '@type' || value === undefined) continue;
      const field = check.fields.get(key);
      if (!field) {
        walk.enter(`.${key}`);
        walk.report({ rule: 'field', message: `${check.fullName} has no field "${key}"` });
        walk.leave();
        continue;
      }
      // PGV validates only the member of a oneof that is set.
      if (field.check === undefined || (field.partOf && value === null)) continue;
      walk.enter(field.segment);
      field.check(walk, value);
      walk.leave();
    }
    for (const field of check.unsetRuled) {
      if (object[field.name] === undefined && field.check) {
        walk.enter(field.segment);
        field.check(walk, undefined);
        walk.leave();
      }
    }
    for (const oneof of check.requiredOneofs) {
      let set = 0;
      for (const member of oneof.members) if (isSet(object[member])) set += 1;
      if (set !== 1) {
        walk.enter(oneof.segment);
        walk.report({ rule: 'oneof.required', message: oneof.message });
        walk.leave();
      }
    }
  }

  #field(field: protobuf.Field): FieldCheck {
    const rules = rulesOf(field);
    let check: ValueCheck | undefined;
    if (field.map) check = this.#mapCheck(field, rules);
    else if (field.repeated) check = this.#repeatedCheck(field, rules);
    else check = this.#valueCheck(field, rules);
    return { name: field.name, segment: `.${field.name}`, partOf: field.partOf !== null, check };
  }

  #repeatedCheck(field: protobuf.Field, rules: FieldRules | undefined): ValueCheck | undefined {
    const repeated = rules?.repeated;
    const item = this.#valueCheck(field, repeated?.items as FieldRules | undefined);
    if (!repeated && !item) return undefined;
    const counted = countCheck(repeated, 'repeated', 'items', 'item(s)');
    const unique = repeated?.unique === true;
    const ignoreEmpty = repeated?.ignore_empty === true;
    return (walk, value) => {
      const items = Array.isArray(value) ? (value as unknown[]) : [];
      if (!(ignoreEmpty && items.length === 0)) {
        counted(walk, items.length);
        if (unique && new Set(items.map((i) => JSON.stringify(i))).size !== items.length) {
          walk.report({ rule: 'repeated.unique', message: 'items must be unique' });
        }
      }
      if (!item) return;
      for (let index = 0; index < items.length; index += 1) {
        walk.enter(index);
        item(walk, items[index]);
        walk.leave();
      }
    };
  }

  #mapCheck(field: protobuf.Field, rules: FieldRules | undefined): ValueCheck | undefined {
    const map = rules?.map;
    const keyRules = (map?.keys as FieldRules | undefined)?.string;
    const keyCheck = keyRules && stringCheck(keyRules);
    const item = this.#valueCheck(field, map?.values as FieldRules | undefined);
    if (!map && !item) return undefined;
    const counted = countCheck(map, 'map', 'pairs', 'entries');
    const ignoreEmpty = map?.ignore_empty === true;
    const noSparse = map?.no_sparse === true;
    return (walk, value) => {
      const entries = Object.entries((value ?? {}) as Record<string, unknown>);
      if (!(ignoreEmpty && entries.length === 0)) counted(walk, entries.length);
      for (const [key, entry] of entries) {
        walk.enter(`[${JSON.stringify(key)}]`);
        if (keyCheck) walk.report(keyCheck(key));
        if (noSparse && !isSet(entry)) {
          walk.report({ rule: 'map.no_sparse', message: 'values must be set' });
        }
        item?.(walk, entry);
        walk.leave();
      }
    };
  }

  /** The check of one value of `field` under `rules`; undefined when no value can break one. */
  #valueCheck(field: protobuf.Field, rules: FieldRules | undefined): ValueCheck | undefined {
    const type = field.resolvedType;
    if (type instanceof protobuf.Type) return this.#messageValueCheck(type, rules);
    if (type instanceof protobuf.Enum) return enumCheck(type, rules?.enum);
    return scalarCheck(field.type, rules);
  }

  #messageValueCheck(type: protobuf.Type, rules: FieldRules | undefined): ValueCheck | undefined {
    const name = type.fullName;
    const required =
      rules?.message?.required === true ||
      rules?.duration?.required === true ||
      rules?.any?.required === true ||
      rules?.timestamp?.required === true;
    const valueCheck = this.#setMessageCheck(type, name, rules);
    if (!required) {
      if (!valueCheck) return undefined;
      return (walk, value) => {
        if (isSet(value)) valueCheck(walk, value);
      };
    }
    return (walk, value) => {
      if (!isSet(value)) walk.report({ rule: 'message.required', message: 'is required' });
      else valueCheck?.(walk, value);
    };
  }

  /** The check of a message-typed value that is set. */
  #setMessageCheck(
    type: protobuf.Type,
    name: string,
    rules: FieldRules | undefined,
  ): ValueCheck | undefined {
    if (rules?.message?.skip === true || opaqueTypes.has(name)) return undefined;
    const scalar = wrapperScalar[name];
    if (scalar !== undefined) return scalarCheck(scalar, rules);
    if (name === '.google.protobuf.Duration') {
      const check = durationCheck(rules?.duration ?? {});
      return (walk, value) => {
        walk.report(check(value));
      };
    }
    if (name === '.google.protobuf.Any') return this.#anyCheck(rules?.any);
    // Compiled when first met: the type may still be compiling (recursion).
    let check: MessageCheck | undefined;
    return (walk, value) => {
      check ??= this.message(type);
      this.walkMessage(walk, check, value);
    };
  }

  #anyCheck(rules: Readonly<Record<string, unknown>> | undefined): ValueCheck {
    const allowed = Array.isArray(rules?.in) ? (rules.in as unknown[]) : undefined;
    const forbidden = Array.isArray(rules?.not_in) ? (rules.not_in as unknown[]) : undefined;
    return (walk, value) => {
      if (isEmptyAny(value) && !allowed) return;
      const typeUrl = (value as { '@type'?: unknown })['@type'];
      if (typeof typeUrl !== 'string') {
        walk.report({ rule: 'any.type', message: 'an Any needs "@type"' });
        return;
      }
      if (allowed && !allowed.includes(typeUrl))
        walk.report({ rule: 'any.in', message: `${typeUrl} is not allowed here` });
      if (forbidden?.includes(typeUrl))
        walk.report({ rule: 'any.not_in', message: `${typeUrl} is not allowed here` });
      const inner = this.typeOf(typeUrl);
      if (!inner) {
        walk.report({ rule: 'any.type', message: `unknown type ${typeUrl}` });
        return;
      }
      this.walkMessage(walk, this.message(inner), value);
    };
  }

  /** The message type an Any's type URL names; protobufjs's lookup is too slow to repeat. */
  typeOf(typeUrl: string): protobuf.Type | undefined {
    if (!this.#anyTypes.has(typeUrl)) {
      const type = this.#root.lookup(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
      this.#anyTypes.set(typeUrl, type instanceof protobuf.Type ? type : undefined);
    }
    return this.#anyTypes.get(typeUrl);
  }
}

type ScalarChecker = (
  rules: Readonly<Record<string, unknown>>,
  value: unknown,
) => Broken | undefined;

/** The rarer scalar families, whose rules are read per value. */
const scalarCheckers: Readonly<Record<string, ScalarChecker>> = {
  bytes: checkBytes,
  bool: checkBool,
};

function scalarCheck(protoType: string, rules: FieldRules | undefined): ValueCheck | undefined {
  const family = numericFamilies[protoType];
  const familyRules = rules?.[family ?? protoType];
  if (!familyRules) return undefined;
  if (family !== undefined || protoType === 'string') {
    const check =
      family === undefined ? stringCheck(familyRules) : numberCheck(family, familyRules);
    return (walk, value) => {
      walk.report(check(value ?? 0));
    };
  }
  const checker = scalarCheckers[protoType];
  return (
    checker &&
    ((walk, value) => {
      walk.report(checker(familyRules, value));
    })
  );
}

function enumCheck(
  type: protobuf.Enum,
  rules: Readonly<Record<string, unknown>> | undefined,
): ValueCheck {
  const defined = new Set(Object.values(type.values));
  const definedOnly = rules?.defined_only === true;
  const allowed = Array.isArray(rules?.in) ? (rules.in as unknown[]) : undefined;
  const forbidden = Array.isArray(rules?.not_in) ? (rules.not_in as unknown[]) : undefined;
  const only = rules?.const;
  return (walk, value) => {
    const number =
      typeof value === 'string' ? type.values[value] : typeof value === 'number' ? value : 0;
    if (number === undefined) {
      walk.report({
        rule: 'enum.defined_only',
        message: `${JSON.stringify(value)} is not a value of ${type.name}`,
      });
      return;
    }
    if (!rules) return;
    if (definedOnly && !defined.has(number)) {
      walk.report({
        rule: 'enum.defined_only',
        message: `${String(value)} is not a value of ${type.name}`,
      });
    }
    if (only !== undefined && number !== only)
      walk.report({ rule: 'enum.const', message: `must be ${JSON.stringify(only)}` });
    if (allowed && !allowed.includes(number))
      walk.report({ rule: 'enum.in', message: `must be one of ${allowed.join(', ')}` });
    if (forbidden?.includes(number))
      walk.report({ rule: 'enum.not_in', message: `must not be ${String(value)}` });
  };
}

/** The min/max count rules of a repeated field (min_items) or a map (min_pairs), read once. */
function countCheck(
  rules: Readonly<Record<string, unknown>> | undefined,
  family: 'repeated' | 'map',
  counted: 'items' | 'pairs',
  noun: string,
): (walk: Walk, count: number) => void {
  const bound = (key: string) => (rules?.[key] === undefined ? undefined : Number(rules[key]));
  const min = bound(`min_${counted}`);
  const max = bound(`max_${counted}`);
  return (walk, count) => {
    if (min !== undefined && count < min) {
      walk.report({
        rule: `${family}.min_${counted}`,
        message: `needs at least ${String(min)} ${noun}`,
      });
    }
    if (max !== undefined && count > max) {
      walk.report({
        rule: `${family}.max_${counted}`,
        message: `allows at most ${String(max)} ${noun}`,
      });
    }
  };
}

const compiledChecks = new WeakMap<protobuf.Root, Checks>();

/**
 * Checks a resource (proto3 JSON with "@type") against the protoc-gen-validate
 * rules in Envoy's protos, so what Envoy would reject is caught before push.
 */
export function validateResource(
  root: protobuf.Root,
  resource: Record<string, unknown>,
): Violation[] {
  let checks = compiledChecks.get(root);
  if (!checks) {
    checks = new Checks(root);
    compiledChecks.set(root, checks);
  }
  const typeUrl = resource['@type'];
  if (typeof typeUrl !== 'string')
    return [{ path: '', rule: 'any.type', message: 'the resource has no "@type"' }];
  const type = checks.typeOf(typeUrl);
  if (!type) return [{ path: '', rule: 'any.type', message: `unknown type ${typeUrl}` }];
  const walk = new Walk(type.name);
  checks.walkMessage(walk, checks.message(type), resource);
  return walk.violations;
}
