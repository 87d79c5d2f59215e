import type protobuf from 'protobufjs';
import {
  EXECUTOR_NAMESPACE,
  EXECUTOR_REPLY_DETAILS,
  executorWaitMs,
  HANDOFF_FROM_CLIENT_KEY,
  type ExecutionPlan,
} from '../../plan/execution.ts';
import { HEADER_LENGTH_HEADER } from '../../protocols/binary-tensors.ts';
import { errorResult, tooLarge } from '../interpreter/graph-answer.ts';
import type { GraphResult, RunServices } from '../interpreter/graph-run.ts';
import {
  answeredAtOnce,
  answerWatched,
  type RequestTelemetry,
  type TraceContext,
} from './request-telemetry.ts';

const RESPONSE_TYPE = 'envoy.service.ext_proc.v3.ProcessingResponse';

/**
 * Responses are encoded straight from plain objects shaped like the proto
 * (protobufjs reads fields by name), without a proto3-JSON conversion, which
 * cost more than the executor's own work on small graphs (profiled). Fixed
 * messages are encoded once.
 */
class ResponseEncoder {
  readonly #type: protobuf.Type;
  readonly continueHeaders: Uint8Array;
  readonly #waits = new Map<number, Uint8Array>();

  constructor(root: protobuf.Root) {
    this.#type = root.lookupType(RESPONSE_TYPE);
    this.continueHeaders = this.encode({ request_headers: { response: {} } });
  }

  encode(message: object): Uint8Array {
    return this.#type.encode(message).finish();
  }

  /** override_message_timeout of `ms`; one encoding per distinct graph deadline. */
  wait(ms: number): Uint8Array {
    let bytes = this.#waits.get(ms);
    if (!bytes) {
      bytes = this.encode({
        override_message_timeout: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
      });
      this.#waits.set(ms, bytes);
    }
    return bytes;
  }
}

const encoders = new WeakMap<protobuf.Root, ResponseEncoder>();

export function responseEncoder(root: protobuf.Root): ResponseEncoder {
  let encoder = encoders.get(root);
  if (!encoder) {
    encoder = new ResponseEncoder(root);
    encoders.set(root, encoder);
  }
  return encoder;
}

/** A google.protobuf.Struct of string values, in protobufjs's field names. */
function stringStruct(values: Record<string, string>) {
  return {
    fields: Object.fromEntries(
      Object.entries(values).map(([key, value]) => [key, { stringValue: value }]),
    ),
  };
}

interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: Uint8Array;
}

/** The parts of a decoded ProcessingRequest the executor reads. */
export interface ProcessingRequest {
  request_headers?: { headers?: { headers?: HeaderValue[] }; end_of_stream?: boolean };
  request_body?: { body?: Uint8Array; end_of_stream?: boolean };
}

function headerMap(values: readonly HeaderValue[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (const header of values) {
    // Envoy sends values as raw bytes; older Envoys as strings.
    const value =
      header.raw_value && header.raw_value.length > 0
        ? Buffer.from(header.raw_value).toString('latin1')
        : (header.value ?? '');
    const name = header.key.toLowerCase();
    const earlier = headers.get(name);
    headers.set(name, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  return headers;
}

function headerValue(key: string, value: string) {
  return { header: { key, raw_value: Buffer.from(value, 'latin1') } };
}

/**
 * One ext_proc stream, i.e. one HTTP request: headers first, then the
 * buffered body, then the executor's answer (or a hand-off to Envoy).
 */
export class RequestProcessor {
  readonly #encoder: ResponseEncoder;
  readonly #plan: ExecutionPlan;
  readonly #services: RunServices;
  readonly #telemetry: readonly RequestTelemetry[];
  readonly #trace: TraceContext;
  readonly #send: (message: Uint8Array) => void;
  readonly #finish: () => void;
  readonly #log: (message: string) => void;
  #headers = new Map<string, string>();
  #body: Buffer[] = [];
  #started = false;
  /** Which of Envoy's messages the answer responds to. */
  #phase: 'request_headers' | 'request_body' = 'request_headers';

  constructor(
    root: protobuf.Root,
    plan: ExecutionPlan,
    run: {
      readonly services: RunServices;
      readonly telemetry: readonly RequestTelemetry[];
      readonly trace: TraceContext;
    },
    send: (message: Uint8Array) => void,
    finish: () => void,
    log: (message: string) => void,
  ) {
    this.#encoder = responseEncoder(root);
    this.#plan = plan;
    this.#services = run.services;
    this.#telemetry = run.telemetry;
    this.#trace = run.trace;
    this.#send = send;
    this.#finish = finish;
    this.#log = log;
  }

  /** Resolves once the stream needs nothing more from Envoy. */
  async handle(request: ProcessingRequest): Promise<void> {
    const headers = request.request_headers;
    if (headers) {
      this.#headers = headerMap(headers.headers?.headers ?? []);
      const declared = Number(this.#headers.get('content-length') ?? '0');
      if (declared > this.#plan.maxBodyBytes) {
        const refused = errorResult(this.#plan, tooLarge(this.#plan, declared));
        this.#reply(answeredAtOnce(this.#telemetry, this.#context(), this.#plan, refused));
        return;
      }
      if (headers.end_of_stream === true) {
        await this.#execute();
        return;
      }
      this.#send(this.#encoder.continueHeaders);
      return;
    }
    const body = request.request_body;
    if (body) {
      this.#phase = 'request_body';
      // A view of the decoded message, not a copy: bodies may be large.
      const bytes = body.body;
      if (bytes && bytes.length > 0)
        this.#body.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      if (body.end_of_stream === true) await this.#execute();
    }
  }

  async #execute(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const body =
      this.#body.length === 1 ? (this.#body[0] ?? Buffer.alloc(0)) : Buffer.concat(this.#body);
    if (body.length <= this.#plan.maxBodyBytes) {
      // Envoy's default wait for an answer is far shorter than a graph may take.
      this.#send(this.#encoder.wait(executorWaitMs(this.#plan.timeoutMs)));
    }
    this.#reply(
      await answerWatched(
        this.#telemetry,
        this.#context(),
        this.#plan,
        this.#headers,
        body,
        this.#services,
        this.#log,
      ),
    );
  }

  /** The stream's trace context, with the request's id from its headers. */
  #context(): TraceContext {
    const requestId = this.#headers.get('x-request-id');
    return requestId === undefined ? this.#trace : { ...this.#trace, requestId };
  }

  /**
   * The last message of the stream. The executor then closes the stream
   * itself: left open, Envoy resets it, and Node's HTTP/2 server takes a
   * stream of resets for an attack and drops the connection (refusing the
   * streams in flight).
   */
  #reply(result: GraphResult): void {
    this.#answer(result);
    this.#finish();
  }

  #answer(result: GraphResult): void {
    if (result.kind === 'answer') {
      this.#write({
        immediate_response: {
          status: { code: result.status },
          headers: { set_headers: result.headers.map(([key, value]) => headerValue(key, value)) },
          body: result.body,
          details: EXECUTOR_REPLY_DETAILS,
        },
      });
      return;
    }
    const original = this.#body.length === 1 ? this.#body[0] : undefined;
    const changed = result.body !== original;
    this.#write({
      [this.#phase]: {
        response: {
          header_mutation: {
            set_headers: [
              headerValue('content-type', result.contentType),
              headerValue('content-length', String(result.body.length)),
              ...(result.headerLength === undefined
                ? []
                : [headerValue(HEADER_LENGTH_HEADER, String(result.headerLength))]),
            ],
            // The client's may no longer describe the body the executor prepared.
            ...(result.headerLength === undefined && { remove_headers: [HEADER_LENGTH_HEADER] }),
          },
          ...(changed && { body_mutation: { body: result.body } }),
          clear_route_cache: true,
        },
      },
      dynamic_metadata: {
        fields: {
          // Both always present: Envoy stops adding a route's response headers at
          // the first one whose metadata key is missing. Empty values add nothing.
          [EXECUTOR_NAMESPACE]: {
            structValue: stringStruct({
              handoff: result.key,
              routing: result.routing,
              soft_failures: result.softFailures,
              [HANDOFF_FROM_CLIENT_KEY]: String(result.fromClient),
            }),
          },
        },
      },
    });
  }

  #write(message: object): void {
    this.#send(this.#encoder.encode(message));
  }
}
