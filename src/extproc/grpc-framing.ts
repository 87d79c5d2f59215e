/** gRPC's length-prefixed message framing: a compressed flag, a 4-byte length, the message. */
const PREFIX_BYTES = 5;

/** The gRPC status codes Switchyard's own gRPC server answers with. */
export const GrpcStatus = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

export type FrameOutcome =
  | { readonly ok: true; readonly messages: readonly Buffer[] }
  | { readonly ok: false; readonly status: number; readonly reason: string };

/**
 * Cuts a stream's DATA chunks into messages. A message may span chunks and
 * a chunk may hold several messages; nothing is copied unless a message
 * spans chunks.
 */
export class MessageReader {
  readonly #maxMessageBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  push(chunk: Buffer): FrameOutcome {
    let data = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      data = Buffer.concat(this.#pending, this.#pendingBytes + chunk.length);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    const messages: Buffer[] = [];
    let offset = 0;
    while (data.length - offset >= PREFIX_BYTES) {
      if (data[offset] !== 0) {
        return {
          ok: false,
          status: GrpcStatus.UNIMPLEMENTED,
          reason: 'compressed messages are not accepted (no grpc-encoding)',
        };
      }
      const length = data.readUInt32BE(offset + 1);
      if (length > this.#maxMessageBytes) {
        return {
          ok: false,
          status: GrpcStatus.RESOURCE_EXHAUSTED,
          reason: `a message of ${String(length)} bytes is over the limit of ${String(this.#maxMessageBytes)}`,
        };
      }
      const end = offset + PREFIX_BYTES + length;
      if (end > data.length) break;
      messages.push(data.subarray(offset + PREFIX_BYTES, end));
      offset = end;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.#pending.push(rest);
      this.#pendingBytes = rest.length;
    }
    return { ok: true, messages };
  }

  /** Whether a message was begun and not finished. */
  get partial(): boolean {
    return this.#pendingBytes > 0;
  }
}

/** One message, framed, in a single buffer: one DATA write per message. */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}
