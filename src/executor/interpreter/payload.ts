import { BINARY_CONTENT_TYPE, decodeBinaryTensors } from '../../protocols/binary-tensors.ts';
import type { Json } from '../../protocols/json.ts';
import type { Outcome } from '../../protocols/outcome.ts';
import type { Protocol } from '../../spec/schema.ts';

const JSON_TYPE = 'application/json';

/**
 * What flows between steps: the bytes of a request or answer, in a protocol.
 * Bytes are parsed only when a step reads them, and sent on untouched when
 * no step does, so a binary payload passes through as it came.
 *
 * A V2 payload with binary tensors (`headerLength` set, from
 * inference-header-content-length) is its JSON part and the tensors' bytes
 * after it: `json()` reads the JSON part alone, `tensors()` the whole, with
 * every binary tensor's values in its `data`.
 *
 * A payload whose content type is neither JSON nor binary tensors is
 * opaque: no step can read it, and where a step would only chain it into
 * the next request it goes on as it is.
 */
export class Payload {
  readonly protocol: Protocol;
  readonly bytes: Buffer;
  readonly contentType: string;
  /** Length of the JSON part when binary tensors follow it. */
  readonly headerLength: number | undefined;
  /** Headers of the answer that produced this payload; empty for the client's request. */
  readonly headers: ReadonlyMap<string, string>;
  #json: Outcome<Json> | undefined;
  #tensors: Outcome<Json> | undefined;

  constructor(
    protocol: Protocol,
    bytes: Buffer,
    contentType: string,
    headers: ReadonlyMap<string, string> = new Map(),
    headerLength?: number,
  ) {
    this.protocol = protocol;
    this.bytes = bytes;
    this.contentType = contentType;
    this.headers = headers;
    this.headerLength = headerLength;
  }

  static ofJson(protocol: Protocol, value: Json): Payload {
    const payload = new Payload(protocol, Buffer.from(JSON.stringify(value)), JSON_TYPE);
    payload.#json = { ok: true, value };
    payload.#tensors = payload.#json;
    return payload;
  }

  /** A V2 payload of `header` and the binary tensors' bytes after it; plain JSON without any. */
  static ofBinary(protocol: Protocol, header: Json, tail: Buffer): Payload {
    if (tail.length === 0) return Payload.ofJson(protocol, header);
    const text = Buffer.from(JSON.stringify(header));
    const payload = new Payload(
      protocol,
      Buffer.concat([text, tail]),
      BINARY_CONTENT_TYPE,
      new Map(),
      text.length,
    );
    payload.#json = { ok: true, value: header };
    return payload;
  }

  get binary(): boolean {
    return this.headerLength !== undefined;
  }

  get opaque(): boolean {
    return !this.binary && !this.contentType.includes('json');
  }

  /** The JSON part: the whole body, or the part before the binary tensors. */
  get jsonBytes(): Buffer {
    return this.headerLength === undefined ? this.bytes : this.bytes.subarray(0, this.headerLength);
  }

  /** The binary tensors' bytes; empty when there are none. */
  get tail(): Buffer {
    return this.headerLength === undefined
      ? Buffer.alloc(0)
      : this.bytes.subarray(this.headerLength);
  }

  /** Whether the JSON part holds `needle`'s bytes: a fast test before parsing for a field. */
  mentions(needle: Buffer): boolean {
    return this.jsonBytes.includes(needle);
  }

  /** The JSON part, parsed once. */
  json(): Outcome<Json> {
    if (this.#json === undefined) {
      try {
        this.#json = { ok: true, value: JSON.parse(this.jsonBytes.toString('utf8')) as Json };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.#json = { ok: false, reason: `the payload is not JSON (${reason})` };
      }
    }
    return this.#json;
  }

  /** The payload as JSON with its binary tensors' values in their `data`, read once. */
  tensors(): Outcome<Json> {
    if (this.#tensors === undefined) {
      const json = this.json();
      this.#tensors = json.ok && this.binary ? decodeBinaryTensors(json.value, this.tail) : json;
      if (!this.#tensors.ok && json.ok) {
        this.#tensors = { ok: false, reason: `its binary tensors: ${this.#tensors.reason}` };
      }
    }
    return this.#tensors;
  }
}
