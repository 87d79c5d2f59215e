import type { Json } from '../../protocols/json.ts';
import type { Outcome } from '../../protocols/outcome.ts';
import type { Protocol } from '../../spec/schema.ts';

const JSON_TYPE = 'application/json';

/**
 * What flows between steps: the bytes of a request or answer, in a protocol.
 * Bytes are parsed only when a step reads them, and sent on untouched when
 * no step does, so a binary payload passes through as it came.
 */
export class Payload {
  readonly protocol: Protocol;
  readonly bytes: Buffer;
  readonly contentType: string;
  /** Headers of the answer that produced this payload; empty for the client's request. */
  readonly headers: ReadonlyMap<string, string>;
  #json: Outcome<Json> | undefined;

  constructor(
    protocol: Protocol,
    bytes: Buffer,
    contentType: string,
    headers: ReadonlyMap<string, string> = new Map(),
  ) {
    this.protocol = protocol;
    this.bytes = bytes;
    this.contentType = contentType;
    this.headers = headers;
  }

  static ofJson(protocol: Protocol, value: Json): Payload {
    const payload = new Payload(protocol, Buffer.from(JSON.stringify(value)), JSON_TYPE);
    payload.#json = { ok: true, value };
    return payload;
  }

  /** The payload as JSON, parsed once. */
  json(): Outcome<Json> {
    if (this.#json === undefined) {
      try {
        this.#json = { ok: true, value: JSON.parse(this.bytes.toString('utf8')) as Json };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.#json = { ok: false, reason: `the payload is not JSON (${reason})` };
      }
    }
    return this.#json;
  }
}
