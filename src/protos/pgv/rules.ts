import type protobuf from 'protobufjs';

/** The (validate.rules) of a field, as protobufjs parses the option: one key per rule family. */
export type FieldRules = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

const cache = new WeakMap<protobuf.Field, FieldRules | null>();

/** A field's PGV rules, merged from every `(validate.rules)` option it carries; cached per field. */
export function rulesOf(field: protobuf.Field): FieldRules | undefined {
  let rules = cache.get(field);
  if (rules === undefined) {
    const merged: Record<string, Record<string, unknown>> = {};
    for (const option of field.parsedOptions ?? []) {
      const value = (option as Record<string, unknown>)['(validate.rules)'] as
        Record<string, Record<string, unknown>> | undefined;
      for (const [family, body] of Object.entries(value ?? {})) {
        merged[family] = { ...merged[family], ...body };
      }
    }
    rules = Object.keys(merged).length > 0 ? merged : null;
    cache.set(field, rules);
  }
  return rules ?? undefined;
}

/** Whether a oneof is marked `(validate.required)`: exactly one member must be set. */
export function oneofRequired(oneof: protobuf.OneOf): boolean {
  return oneof.options?.['(validate.required)'] === true;
}
