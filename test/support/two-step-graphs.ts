import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Handler } from './scripted-server.ts';

/**
 * Two arithmetic models and a two-step sequence over them, for tests that
 * need an executor graph on either transport and answers that tell which
 * plan ran: add then double turns 1 into 22, double then add into 12.
 */

export type V2 = { outputs?: { data: number[] }[]; inputs?: { data: number[] }[] };

function v2Model(model: string, f: (n: number) => number): Record<string, Handler> {
  return {
    [`/v2/models/${model}/infer`]: (r) => {
      const data = (r.json as V2).inputs?.[0]?.data ?? [];
      return {
        json: {
          outputs: [{ name: 'y', shape: [data.length], datatype: 'FP64', data: data.map(f) }],
        },
      };
    },
  };
}

/** The models' handlers for a scripted server: add-ten and double. */
export const arithmeticModels: Record<string, Handler> = {
  ...v2Model('add-ten', (n) => n + 10),
  ...v2Model('double', (n) => n * 2),
};

/**
 * The steps `add` and `mul` in `order`. As written, the last step is handed
 * off to Envoy (ext_proc); `transport: 'upstream'` also returns a step's
 * output beside the answer, so the executor answers it whole and Envoy
 * routes to it as an upstream.
 */
export function twoStepSequence(
  name: string,
  order: readonly string[],
  address: string,
  transport: 'ext_proc' | 'upstream',
): string {
  return `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata: { name: ${name} }
spec:
  entry: seq
${transport === 'upstream' ? '  returnOutputs: [add]\n' : ''}  nodes:
    seq: { kind: sequence, steps: [${order.map((n) => `{ node: ${n} }`).join(', ')}] }
    add: { kind: model, model: add-ten, endpoint: { addresses: ["${address}"] } }
    mul: { kind: model, model: double, endpoint: { addresses: ["${address}"] } }
`;
}

/**
 * The sequence add → double on each way into the executor, as files in
 * `dir`: graph `hand` (ext_proc, its last step handed off) and `whole`
 * (upstream, answered whole).
 */
export function writeBothWaysIn(dir: string, address: string): void {
  writeFileSync(
    join(dir, 'hand.yaml'),
    twoStepSequence('hand', ['add', 'mul'], address, 'ext_proc'),
  );
  writeFileSync(
    join(dir, 'whole.yaml'),
    twoStepSequence('whole', ['add', 'mul'], address, 'upstream'),
  );
}
