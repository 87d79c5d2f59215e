/**
 * The one error shape of every answer Switchyard writes, whoever writes it
 * (Envoy's own replies and direct responses, the executor, the status
 * server): `{"error": {"graph", "node", "status", "reason"}}`. `graph` and
 * `node` are left out where they are not known.
 */
export interface ErrorFields {
  /** "<namespace>/<name>". */
  readonly graph?: string;
  readonly node?: string;
  readonly status: number;
  readonly reason: string;
}

export interface ErrorShape {
  readonly error: ErrorFields;
}

/** The shape as an object, its fields always in the same order. */
export function errorShape({ graph, node, status, reason }: ErrorFields): ErrorShape {
  return {
    error: {
      ...(graph !== undefined && { graph }),
      ...(node !== undefined && { node }),
      status,
      reason,
    },
  };
}

/** The shape as the JSON text of an answer. */
export function errorBody(fields: ErrorFields): string {
  return JSON.stringify(errorShape(fields));
}
