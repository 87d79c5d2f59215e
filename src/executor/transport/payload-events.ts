import { CloudEvent, HTTP } from 'cloudevents';
import type { GraphResult } from '../interpreter/graph-run.ts';

export const REQUEST_EVENT_TYPE = 'io.switchyard.inference.request';
export const RESPONSE_EVENT_TYPE = 'io.switchyard.inference.response';

/** One payload as a sink takes it. */
export interface PayloadEvent {
  /** CloudEvents binary mode: ce-* headers and the payload's own bytes as the body. */
  readonly binary: { readonly headers: Readonly<Record<string, string>>; readonly body: Buffer };
  /** CloudEvents structured mode, as one JSON line: made when a file sink asks, not for an HTTP one. */
  line(): string;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

function event(
  type: string,
  id: string,
  source: string,
  contentType: string,
  body: Buffer,
): PayloadEvent {
  const attributes = {
    specversion: '1.0',
    id,
    type,
    source,
    datacontenttype: contentType,
    // One time for both modes of the event.
    time: new Date().toISOString(),
  };
  const cloudEvent = new CloudEvent({ ...attributes, data: body });
  const binary = HTTP.binary(cloudEvent);
  return {
    binary: {
      headers: Object.fromEntries(
        Object.entries(binary.headers).map(([name, value]) => [name, String(value)]),
      ),
      body,
    },
    line: () => {
      // A JSON payload stands in the line as JSON, readable as it is; anything else as base64.
      let data: unknown = body;
      if (JSON_TYPE.test(contentType)) {
        try {
          data = JSON.parse(body.toString('utf8'));
        } catch {
          data = body;
        }
      }
      const structured = new CloudEvent({ ...attributes, data });
      return `${String(HTTP.structured(structured).body)}\n`;
    },
  };
}

/**
 * A graph request's two CloudEvents: its request and its answer, both with
 * Envoy's request id as ce-id and the graph ("<namespace>/<name>") in
 * ce-source. A request handed back to Envoy has no answer here: its request
 * alone.
 */
export function payloadEvents(
  graph: string,
  requestId: string,
  request: { readonly contentType: string; readonly body: Buffer },
  result: GraphResult | undefined,
): PayloadEvent[] {
  const source = `switchyard/${graph}`;
  const events = [event(REQUEST_EVENT_TYPE, requestId, source, request.contentType, request.body)];
  if (result?.kind === 'answer') {
    const contentType =
      result.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ??
      'application/json';
    events.push(event(RESPONSE_EVENT_TYPE, requestId, source, contentType, result.body));
  }
  return events;
}
