/**
 * The one error shape of every answer Switchyard writes, whoever writes it
 * (Envoy's own replies and direct responses, the executor, the status
 * server): `{"error": {"graph", "node", "status", "reason"}}`. `graph` and
 * `node` are left out where they are not known.
 */
export interface ErrorFields<Status extends number | string = number> {
  /** "<namespace>/<name>". */
  readonly graph?: string;
  readonly node?: string;
  /** A number; text only in a template Envoy fills in (its `%RESPONSE_CODE%`). */
  readonly status: Status;
  readonly reason: string;
}

export interface ErrorShape<Status extends number | string = number> {
  readonly error: ErrorFields<Status>;
}

/** The shape as an object, its fields always in the same order. */
export function errorShape<Status extends number | string = number>({
  graph,
  node,
  status,
  reason,
}: ErrorFields<Status>): ErrorShape<Status> {
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
