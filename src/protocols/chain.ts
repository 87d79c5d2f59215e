import type { Protocol } from '../spec/schema.ts';
import { isObject, type Json } from './json.ts';
import type { Outcome } from './outcome.ts';

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

/**
 * Whether a transformer's answer is a request already (V1 `instances` or
 * `inputs`, V2 `inputs`, any SeldonMessage) rather than an answer
 * (`predictions`, `outputs`), which a stock model server gives and which is
 * chained into the next request.
 */
export function isRequestShaped(body: Json, protocol: Protocol): boolean {
  if (protocol === 'seldon' || !isObject(body)) return true;
  if (protocol === 'v2') return body.inputs !== undefined;
  return (
    body.instances !== undefined || (body.inputs !== undefined && body.predictions === undefined)
  );
}
