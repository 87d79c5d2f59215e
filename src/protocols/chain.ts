import type { Protocol } from '../spec/schema.ts';
import type { Json } from './json.ts';
import type { Outcome } from './outcome.ts';

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A node's answer made into the next node's request, within one protocol:
 * the chaining rule of sequences and transformers. V2 outputs become inputs
 * and V1 predictions instances; a SeldonMessage is both already.
 */
export function responseAsRequest(body: Json, protocol: Protocol): Outcome<Json> {
  if (protocol === 'seldon') return { ok: true, value: body };
  if (!isObject(body)) return { ok: false, reason: `a ${protocol} answer must be a JSON object` };
  if (protocol === 'v1') {
    const predictions = body.predictions;
    if (!Array.isArray(predictions)) {
      return { ok: false, reason: 'a V1 answer needs a "predictions" array' };
    }
    return { ok: true, value: { instances: predictions } };
  }
  const outputs = body.outputs;
  if (!Array.isArray(outputs)) return { ok: false, reason: 'a V2 answer needs an "outputs" array' };
  return {
    ok: true,
    value: {
      ...(body.id !== undefined && { id: body.id }),
      ...(body.parameters !== undefined && { parameters: body.parameters }),
      inputs: outputs,
    },
  };
}
