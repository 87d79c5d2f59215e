import protobuf from 'protobufjs';
import { oneofRequired, rulesOf, type FieldRules } from './rules.ts';
import {
  checkBool,
  checkBytes,
  checkDuration,
  checkNumber,
  checkString,
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

interface TypeShape {
  /** protobufjs computes fullName on every read. */
  readonly name: string;
  /** Fields that carry rules, resolved. */
  readonly ruled: readonly protobuf.Field[];
  readonly requiredOneofs: readonly protobuf.OneOf[];
}

const shapes = new WeakMap<protobuf.Type, TypeShape>();

/** What of a type's reflection the walk needs, worked out once per type (it is read per resource). */
function shapeOf(type: protobuf.Type): TypeShape {
  let shape = shapes.get(type);
  if (!shape) {
    shape = {
      name: type.fullName,
      ruled: type.fieldsArray.filter((field) => rulesOf(field.resolve()) !== undefined),
      requiredOneofs: type.oneofsArray.filter(oneofRequired),
    };
    shapes.set(type, shape);
  }
  return shape;
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Walks one resource against its reflected type; the walk is the JSON, the rules are Envoy's. */
class Walker {
  readonly violations: Violation[] = [];
  readonly #root: protobuf.Root;

  constructor(root: protobuf.Root) {
    this.#root = root;
  }

  #report(path: string, broken: Broken | undefined): void {
    if (broken) this.violations.push({ path, ...broken });
  }

  message(type: protobuf.Type, json: unknown, path: string): void {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      this.#report(path, { rule: 'type', message: `${type.name} must be an object` });
      return;
    }
    const object = json as Record<string, unknown>;
    for (const [key, value] of Object.entries(object)) {
      if (key === '@type' || value === undefined) continue;
      const field = type.fields[key];
      if (!field) {
        this.#report(`${path}.${key}`, {
          rule: 'field',
          message: `${type.fullName.slice(1)} has no field "${key}"`,
        });
        continue;
      }
      // PGV validates only the member of a oneof that is set.
      if (field.partOf && !isSet(value)) continue;
      this.#field(field, value, `${path}.${field.name}`);
    }
    const shape = shapeOf(type);
    // An unset field breaks a rule only if it has one (min_len, required, ...): check just those.
    for (const field of shape.ruled) {
      if (object[field.name] === undefined && !field.partOf) {
        this.#field(field, undefined, `${path}.${field.name}`);
      }
    }
    for (const oneof of shape.requiredOneofs) {
      const set = oneof.fieldsArray.filter((f) => isSet(object[f.name]));
      if (set.length !== 1) {
        this.#report(`${path}.${oneof.name}`, {
          rule: 'oneof.required',
          message: `exactly one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} must be set`,
        });
      }
    }
  }

  #field(field: protobuf.Field, value: unknown, path: string): void {
    field.resolve();
    const rules = rulesOf(field);
    if (field.map) {
      this.#map(field, rules, value, path);
    } else if (field.repeated) {
      this.#repeated(field, rules, value, path);
    } else {
      this.#single(field, rules, value, path);
    }
  }

  #repeated(
    field: protobuf.Field,
    rules: FieldRules | undefined,
    value: unknown,
    path: string,
  ): void {
    const items = Array.isArray(value) ? (value as unknown[]) : [];
    const repeated = rules?.repeated;
    if (repeated && !(repeated.ignore_empty === true && items.length === 0)) {
      if (repeated.min_items !== undefined && items.length < Number(repeated.min_items)) {
        this.#report(path, {
          rule: 'repeated.min_items',
          message: `needs at least ${Number(repeated.min_items)} item(s)`,
        });
      }
      if (repeated.max_items !== undefined && items.length > Number(repeated.max_items)) {
        this.#report(path, {
          rule: 'repeated.max_items',
          message: `allows at most ${Number(repeated.max_items)} item(s)`,
        });
      }
      if (
        repeated.unique === true &&
        new Set(items.map((i) => JSON.stringify(i))).size !== items.length
      ) {
        this.#report(path, { rule: 'repeated.unique', message: 'items must be unique' });
      }
    }
    const itemRules = repeated?.items as FieldRules | undefined;
    items.forEach((item, index) => {
      this.#single(field, itemRules, item, `${path}[${String(index)}]`);
    });
  }

  #map(field: protobuf.Field, rules: FieldRules | undefined, value: unknown, path: string): void {
    const entries = Object.entries((value ?? {}) as Record<string, unknown>);
    const map = rules?.map;
    if (map && !(map.ignore_empty === true && entries.length === 0)) {
      if (map.min_pairs !== undefined && entries.length < Number(map.min_pairs)) {
        this.#report(path, {
          rule: 'map.min_pairs',
          message: `needs at least ${Number(map.min_pairs)} entries`,
        });
      }
      if (map.max_pairs !== undefined && entries.length > Number(map.max_pairs)) {
        this.#report(path, {
          rule: 'map.max_pairs',
          message: `allows at most ${Number(map.max_pairs)} entries`,
        });
      }
    }
    const keyRules = map?.keys as FieldRules | undefined;
    const valueRules = map?.values as FieldRules | undefined;
    for (const [key, item] of entries) {
      if (keyRules?.string)
        this.#report(`${path}[${JSON.stringify(key)}]`, checkString(keyRules.string, key));
      if (map?.no_sparse === true && !isSet(item)) {
        this.#report(`${path}[${JSON.stringify(key)}]`, {
          rule: 'map.no_sparse',
          message: 'values must be set',
        });
      }
      this.#single(field, valueRules, item, `${path}[${JSON.stringify(key)}]`);
    }
  }

  /** One value of a field (the field itself, a repeated item, or a map value). */
  #single(
    field: protobuf.Field,
    rules: FieldRules | undefined,
    value: unknown,
    path: string,
  ): void {
    const type = field.resolvedType;
    if (type instanceof protobuf.Type) {
      this.#messageValue(type, rules, value, path);
    } else if (type instanceof protobuf.Enum) {
      this.#enumValue(type, rules?.enum, value, path);
    } else {
      this.#scalar(field.type, rules, value, path);
    }
  }

  #scalar(protoType: string, rules: FieldRules | undefined, value: unknown, path: string): void {
    if (!rules) return;
    if (protoType === 'string' && rules.string)
      this.#report(path, checkString(rules.string, value));
    else if (protoType === 'bytes' && rules.bytes)
      this.#report(path, checkBytes(rules.bytes, value));
    else if (protoType === 'bool' && rules.bool) this.#report(path, checkBool(rules.bool, value));
    else {
      const family = numericFamilies[protoType];
      const numeric = family === undefined ? undefined : rules[family];
      if (family !== undefined && numeric)
        this.#report(path, checkNumber(family, numeric, value ?? 0));
    }
  }

  #enumValue(
    type: protobuf.Enum,
    rules: Readonly<Record<string, unknown>> | undefined,
    value: unknown,
    path: string,
  ): void {
    const number =
      typeof value === 'string' ? type.values[value] : typeof value === 'number' ? value : 0;
    if (typeof value === 'string' && number === undefined) {
      this.#report(path, {
        rule: 'enum.defined_only',
        message: `${JSON.stringify(value)} is not a value of ${type.name}`,
      });
      return;
    }
    if (!rules) return;
    const defined = Object.values(type.values).includes(number ?? 0);
    if (rules.defined_only === true && !defined) {
      this.#report(path, {
        rule: 'enum.defined_only',
        message: `${String(value)} is not a value of ${type.name}`,
      });
    }
    if (rules.const !== undefined && number !== rules.const)
      this.#report(path, { rule: 'enum.const', message: `must be ${JSON.stringify(rules.const)}` });
    if (Array.isArray(rules.in) && !rules.in.includes(number))
      this.#report(path, { rule: 'enum.in', message: `must be one of ${rules.in.join(', ')}` });
    if (Array.isArray(rules.not_in) && rules.not_in.includes(number))
      this.#report(path, { rule: 'enum.not_in', message: `must not be ${String(value)}` });
  }

  #messageValue(
    type: protobuf.Type,
    rules: FieldRules | undefined,
    value: unknown,
    path: string,
  ): void {
    const name = shapeOf(type).name;
    const required =
      rules?.message?.required === true ||
      rules?.duration?.required === true ||
      rules?.any?.required === true ||
      rules?.timestamp?.required === true;
    if (!isSet(value)) {
      if (required) this.#report(path, { rule: 'message.required', message: 'is required' });
      return;
    }
    if (rules?.message?.skip === true) return;
    const scalar = wrapperScalar[name];
    if (scalar !== undefined) {
      this.#scalar(scalar, rules, value, path);
      return;
    }
    if (name === '.google.protobuf.Duration') {
      if (rules?.duration) this.#report(path, checkDuration(rules.duration, value));
      else if (checkDuration({}, value)) this.#report(path, checkDuration({}, value));
      return;
    }
    if (opaqueTypes.has(name)) return;
    if (name === '.google.protobuf.Any') {
      this.#any(rules?.any, value, path);
      return;
    }
    this.message(type, value, path);
  }

  #any(rules: Readonly<Record<string, unknown>> | undefined, value: unknown, path: string): void {
    const typeUrl = (value as { '@type'?: unknown })['@type'];
    if (typeof typeUrl !== 'string') {
      this.#report(path, { rule: 'any.type', message: 'an Any needs "@type"' });
      return;
    }
    if (Array.isArray(rules?.in) && !rules.in.includes(typeUrl))
      this.#report(path, { rule: 'any.in', message: `${typeUrl} is not allowed here` });
    if (Array.isArray(rules?.not_in) && rules.not_in.includes(typeUrl))
      this.#report(path, { rule: 'any.not_in', message: `${typeUrl} is not allowed here` });
    const inner = this.#root.lookup(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
    if (!(inner instanceof protobuf.Type)) {
      this.#report(path, { rule: 'any.type', message: `unknown type ${typeUrl}` });
      return;
    }
    this.message(inner, value, path);
  }
}

/**
 * Checks a resource (proto3 JSON with "@type") against the protoc-gen-validate
 * rules in Envoy's protos, so what Envoy would reject is caught before push.
 */
export function validateResource(
  root: protobuf.Root,
  resource: Record<string, unknown>,
): Violation[] {
  const typeUrl = resource['@type'];
  if (typeof typeUrl !== 'string')
    return [{ path: '', rule: 'any.type', message: 'the resource has no "@type"' }];
  const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const type = root.lookup(typeName);
  if (!(type instanceof protobuf.Type))
    return [{ path: '', rule: 'any.type', message: `unknown type ${typeUrl}` }];
  const walker = new Walker(root);
  walker.message(type, resource, type.name);
  return walker.violations;
}
