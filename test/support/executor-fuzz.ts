import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import fc from 'fast-check';
import {
  EXECUTION_PLAN_VERSION,
  PLAN_HEADER,
  type ExecutionPlan,
} from '../../src/plan/execution.ts';
import { envoyProtos } from '../../src/protos/envoy-protos.ts';
import { startExecutorProcess } from './executor-process.ts';
import { freePort } from './ports.ts';

/**
 * Malformed input thrown at a real executor process: ext_proc streams with
 * random or broken messages and frames, upstream requests with random plan
 * headers and bodies. Each case must end in an answer or a closed stream,
 * within its time; the process must live through all of them.
 */

const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

function validPlan(maxBodyBytes: number): ExecutionPlan {
  const step = { timeoutMs: 1_000, soft: false, propagateHeaders: [], protocol: 'v2' as const };
  return {
    version: EXECUTION_PLAN_VERSION,
    graph: 'fuzz/g',
    protocol: 'v2',
    timeoutMs: 1_000,
    entry: 'seq',
    propagateHeaders: [],
    returnOutputs: [],
    maxBodyBytes,
    nodes: {
      seq: {
        ...step,
        kind: 'sequence',
        steps: [
          { node: 'a', input: 'previous' },
          { node: 'b', input: 'previous' },
        ],
      },
      a: { ...step, kind: 'model', hop: '/fuzz/g/a' },
      b: { ...step, kind: 'model', hop: '/fuzz/g/b' },
    },
  } as unknown as ExecutionPlan;
}

const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '');

/** A plan header: valid, a valid one cut or changed at random, JSON of another shape, or junk. */
function planHeaderArbitrary(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(valid),
    fc.nat({ max: valid.length }).map((cut) => valid.slice(0, cut)),
    fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.string({ minLength: 1, maxLength: 4 }))
      .map(([at, text]) => printable(valid.slice(0, at) + text + valid.slice(at + 1))),
    fc.json({ maxDepth: 3 }).map(printable),
    fc.string({ maxLength: 200 }).map(printable),
  );
}

const headerArbitrary = fc.tuple(
  fc.oneof(
    fc.constantFrom('content-length', 'content-type', ':path', 'x-request-id'),
    fc.string({ maxLength: 20 }),
  ),
  fc.oneof(fc.string({ maxLength: 40 }), fc.nat().map(String), fc.constant('-1')),
);

type Message =
  | { readonly kind: 'headers'; readonly headers: [string, string][]; readonly end: boolean }
  | { readonly kind: 'body'; readonly body: Uint8Array; readonly end: boolean }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'frame'; readonly declared: number; readonly bytes: Uint8Array };

const messageArbitrary: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    kind: fc.constant('headers' as const),
    headers: fc.array(headerArbitrary, { maxLength: 6 }),
    end: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('body' as const),
    body: fc.uint8Array({ maxLength: 512 }),
    end: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 256 }) }),
  // A gRPC frame whose length prefix lies.
  fc.record({
    kind: fc.constant('frame' as const),
    declared: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 64 }),
  }),
);

export type FuzzCase =
  | {
      readonly kind: 'ext_proc';
      readonly plan: string;
      readonly messages: readonly Message[];
      readonly endStream: boolean;
    }
  | {
      readonly kind: 'upstream';
      readonly plan: string | undefined;
      readonly path: string;
      readonly body: Uint8Array;
      readonly contentLength: string | undefined;
    };

export function fuzzCases(count: number, seed: number): FuzzCase[] {
  const valid = JSON.stringify(validPlan(1_024));
  const plan = planHeaderArbitrary(valid);
  const arbitrary: fc.Arbitrary<FuzzCase> = fc.oneof(
    fc.record({
      kind: fc.constant('ext_proc' as const),
      plan,
      messages: fc.array(messageArbitrary, { maxLength: 6 }),
      endStream: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('upstream' as const),
      plan: fc.option(plan, { nil: undefined }),
      path: fc.oneof(
        fc.constant('/v2/models/g/infer'),
        fc.string({ maxLength: 30 }).map((p) => `/${printable(p)}`),
      ),
      body: fc.uint8Array({ maxLength: 4_096 }),
      contentLength: fc.option(
        fc.oneof(fc.nat().map(String), fc.string({ maxLength: 8 }).map(printable)),
        { nil: undefined },
      ),
    }),
  );
  return fc.sample(arbitrary, { numRuns: count, seed });
}

function frame(bytes: Uint8Array, declared = bytes.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([head, bytes]);
}

const requestType = envoyProtos().lookupType('envoy.service.ext_proc.v3.ProcessingRequest');

function encoded(message: Message): Buffer {
  switch (message.kind) {
    case 'headers':
      return frame(
        requestType
          .encode({
            request_headers: {
              headers: {
                headers: message.headers.map(([key, value]) => ({
                  key,
                  raw_value: Buffer.from(value),
                })),
              },
              end_of_stream: message.end,
            },
          })
          .finish(),
      );
    case 'body':
      return frame(
        requestType
          .encode({ request_body: { body: message.body, end_of_stream: message.end } })
          .finish(),
      );
    case 'bytes':
      return frame(message.bytes);
    case 'frame':
      return frame(message.bytes, message.declared);
  }
}

export type Outcome = 'answered' | 'closed' | 'hung';

/** Runs one case on `session`: answered (response headers came), closed (reset or refused), or hung. */
export function runCase(
  session: http2.ClientHttp2Session,
  fuzz: FuzzCase,
  timeoutMs: number,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let headers: http2.OutgoingHttpHeaders;
    if (fuzz.kind === 'ext_proc') {
      headers = {
        ':method': 'POST',
        ':path': PROCESS_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
        [PLAN_HEADER]: fuzz.plan,
      };
    } else {
      headers = {
        ':method': 'POST',
        ':path': fuzz.path,
        'content-type': 'application/json',
        ...(fuzz.plan !== undefined && { [PLAN_HEADER]: fuzz.plan }),
        ...(fuzz.contentLength !== undefined && { 'content-length': fuzz.contentLength }),
      };
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch {
      // The client refused to send it (a header Node will not write): nothing reached the executor.
      resolve('closed');
      return;
    }
    let answered = false;
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve('hung');
    }, timeoutMs);
    const done = (outcome: Outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    stream.on('response', () => {
      answered = true;
    });
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      done(answered ? 'answered' : 'closed');
    });
    if (fuzz.kind === 'ext_proc') {
      for (const message of fuzz.messages) stream.write(encoded(message));
      if (fuzz.endStream) stream.end();
      else {
        // Left open, a stream waits for the rest of the request, as the executor should: the
        // client then ends it (as Envoy does once answered, or at its own timeout), after
        // which the executor must finish it.
        const end = setTimeout(() => stream.end(), 300);
        stream.once('response', () => {
          clearTimeout(end);
          stream.end();
        });
      }
    } else {
      stream.end(fuzz.body);
    }
  });
}

export interface FuzzedExecutor {
  readonly port: number;
  readonly process: ChildProcess;
  /** The executor's peak resident set so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  output(): string;
  stop(): Promise<void>;
}

/** `switchyard executor` with one worker, calling nodes through `hopUrl`. */
export async function startFuzzedExecutor(hopUrl: string): Promise<FuzzedExecutor> {
  const port = await freePort();
  const executor = await startExecutorProcess(1, ['--port', String(port), '--hop-url', hopUrl]);
  return {
    port,
    process: executor.child,
    peakRssMiB() {
      const status = readFileSync(`/proc/${String(executor.child.pid)}/status`, 'utf8');
      const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 'NaN');
      return kib / 1024;
    },
    output: () => executor.output(),
    stop: () => executor.stop(),
  };
}

/** A valid request, to show the executor still serves after the fuzz. */
export function validRequest(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }],
    });
    const stream = session.request({
      ':method': 'POST',
      ':path': '/v2/models/g/infer',
      'content-type': 'application/json',
      [PLAN_HEADER]: JSON.stringify(validPlan(1_024)),
    });
    stream.on('response', (headers) => {
      resolve(Number(headers[':status']));
    });
    stream.on('data', () => undefined);
    stream.on('error', reject);
    stream.end(body);
  });
}
