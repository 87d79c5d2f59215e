import { isObject, type Json, type JsonObject } from './json.ts';

/**
 * Seldon's `meta`, merged along a graph as Seldon's original engine did:
 * one puid per request, tags unioned, and for every node its place in
 * `requestPath` and, for routers, its choice in `routing`.
 */
export interface SeldonMeta {
  readonly puid: string;
  readonly tags: Readonly<Record<string, Json>>;
  readonly routing: Readonly<Record<string, number>>;
  readonly requestPath: Readonly<Record<string, string>>;
  readonly metrics: readonly Json[];
}

function record<T extends Json>(
  value: Json | undefined,
  keep: (v: Json) => v is T,
): Record<string, T> {
  if (!isObject(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, T] => keep(entry[1])),
  );
}

const isNumber = (v: Json): v is number => typeof v === 'number';
const isString = (v: Json): v is string => typeof v === 'string';
const isAny = (_: Json): _ is Json => true;

export function readMeta(body: Json): SeldonMeta {
  const meta = isObject(body) ? body.meta : undefined;
  const fields: JsonObject = isObject(meta) ? meta : {};
  return {
    puid: typeof fields.puid === 'string' ? fields.puid : '',
    tags: record(fields.tags, isAny),
    routing: record(fields.routing, isNumber),
    requestPath: record(fields.requestPath, isString),
    metrics: Array.isArray(fields.metrics) ? fields.metrics : [],
  };
}

export function withMeta(body: Json, meta: SeldonMeta): Json {
  if (!isObject(body)) return body;
  return {
    ...body,
    meta: {
      puid: meta.puid,
      tags: { ...meta.tags },
      routing: { ...meta.routing },
      requestPath: { ...meta.requestPath },
      metrics: [...meta.metrics],
    },
  };
}

export function mergeMeta(into: SeldonMeta, from: SeldonMeta): SeldonMeta {
  return {
    puid: into.puid === '' ? from.puid : into.puid,
    tags: { ...into.tags, ...from.tags },
    routing: { ...into.routing, ...from.routing },
    requestPath: { ...into.requestPath, ...from.requestPath },
    metrics: [...into.metrics, ...from.metrics],
  };
}

export function recordNode(meta: SeldonMeta, node: string, image: string): SeldonMeta {
  return { ...meta, requestPath: { ...meta.requestPath, [node]: image } };
}

export function recordRouting(meta: SeldonMeta, node: string, choice: number): SeldonMeta {
  return { ...meta, routing: { ...meta.routing, [node]: choice } };
}
