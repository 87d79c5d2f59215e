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
 * a chunk may hold several messages. A message's chunks are joined once,
 * when its last one comes: a 1 MiB body arrives in 64 chunks or more.
 */
export class MessageReader {
  readonly #maxMessageBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The framed length of the message begun, once its prefix is in. */
  #expected: number | undefined;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  push(chunk: Buffer): FrameOutcome {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#pendingBytes < PREFIX_BYTES) break;
        const head = this.#joined();
        if (head[0] !== 0) {
          return {
            ok: false,
            status: GrpcStatus.UNIMPLEMENTED,
            reason: 'compressed messages are not accepted (no grpc-encoding)',
          };
        }
        const length = head.readUInt32BE(1);
        if (length > this.#maxMessageBytes) {
          return {
            ok: false,
            status: GrpcStatus.RESOURCE_EXHAUSTED,
            reason: `a message of ${String(length)} bytes is over the limit of ${String(this.#maxMessageBytes)}`,
          };
        }
        this.#expected = PREFIX_BYTES + length;
      }
      if (this.#pendingBytes < this.#expected) break;
      const data = this.#joined();
      messages.push(data.subarray(PREFIX_BYTES, this.#expected));
      const rest = data.subarray(this.#expected);
      this.#pending = rest.length > 0 ? [rest] : [];
      this.#pendingBytes = rest.length;
      this.#expected = undefined;
    }
    return { ok: true, messages };
  }

  /** Whether a message was begun and not finished. */
  get partial(): boolean {
    return this.#pendingBytes > 0;
  }

  /** The pending bytes as one buffer, copied only when they are in several. */
  #joined(): Buffer {
    if (this.#pending.length > 1)
      this.#pending = [Buffer.concat(this.#pending, this.#pendingBytes)];
    return this.#pending[0] ?? Buffer.alloc(0);
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
