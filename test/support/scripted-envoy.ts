import type protobuf from 'protobufjs';
import { deltaClient, sotwClient } from './xds-client.ts';

/** A response as a test reads it, whichever protocol carried it. */
export interface Received {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly version: string;
  /** Resource names carried, in order. */
  readonly names: readonly string[];
  /** The resources carried, decoded, by name. */
  readonly resources: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Resource versions carried, by name (delta only). */
  readonly versions: Readonly<Record<string, string>>;
  /** Names removed (delta only). */
  readonly removed: readonly string[];
}

/**
 * An ADS client that plays an Envoy step by step on either protocol: the
 * test subscribes, reads each response, and ACKs or NACKs it with the
 * message it chooses.
 */
export interface ScriptedEnvoy {
  subscribe(typeUrl: string, names?: readonly string[]): void;
  /** The next response, or undefined if none comes within `timeoutMs`. */
  next(timeoutMs?: number): Promise<Received | undefined>;
  ack(response: Received): void;
  nack(response: Received, message: string): void;
  close(): void;
}

function decoded(
  root: protobuf.Root,
  any: { type_url: string; value: Uint8Array },
): [string, Record<string, unknown>] {
  const type = root.lookupType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1));
  const resource = type.toObject(type.decode(any.value), { enums: String, longs: Number });
  const name = (resource.name ?? resource.cluster_name ?? '') as string;
  return [name, resource];
}

/**
 * `reconnect`: what the Envoy says it has when it opens the stream (SotW:
 * the last version it accepted of each type; delta: its resource versions).
 */
export function scriptedEnvoy(
  root: protobuf.Root,
  address: string,
  options: {
    readonly delta: boolean;
    readonly node: { readonly id: string; readonly cluster: string };
    readonly reconnect?: {
      readonly versions: Readonly<Record<string, string>>;
      readonly resources?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    };
  },
): ScriptedEnvoy {
  const { node } = options;
  if (!options.delta) {
    const client = sotwClient(root, address);
    const subscribed = new Map<string, readonly string[]>();
    return {
      subscribe: (typeUrl, names = []) => {
        subscribed.set(typeUrl, names);
        client.send({
          node,
          type_url: typeUrl,
          resource_names: [...names],
          response_nonce: '',
          version_info: options.reconnect?.versions[typeUrl] ?? '',
        });
      },
      next: async (timeoutMs) => {
        const response = await client.next(timeoutMs);
        if (!response) return undefined;
        const resources = response.resources.map((any) => decoded(root, any));
        return {
          typeUrl: response.type_url,
          nonce: response.nonce,
          version: response.version_info,
          names: resources.map(([name]) => name),
          resources: Object.fromEntries(resources),
          versions: {},
          removed: [],
        };
      },
      ack: (response) => {
        client.send({
          node,
          type_url: response.typeUrl,
          resource_names: [...(subscribed.get(response.typeUrl) ?? [])],
          response_nonce: response.nonce,
          version_info: response.version,
        });
      },
      nack: (response, message) => {
        client.send({
          node,
          type_url: response.typeUrl,
          resource_names: [...(subscribed.get(response.typeUrl) ?? [])],
          response_nonce: response.nonce,
          version_info: '',
          error_detail: { code: 13, message },
        });
      },
      close: () => {
        client.close();
      },
    };
  }
  const client = deltaClient(root, address);
  const request = (typeUrl: string, extra: Record<string, unknown>) => {
    client.send({
      node,
      type_url: typeUrl,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      ...extra,
    });
  };
  return {
    subscribe: (typeUrl, names = []) => {
      request(typeUrl, {
        resource_names_subscribe: [...names],
        initial_resource_versions: options.reconnect?.resources?.[typeUrl] ?? {},
      });
    },
    next: async (timeoutMs) => {
      const response = await client.next(timeoutMs);
      if (!response) return undefined;
      return {
        typeUrl: response.type_url,
        nonce: response.nonce,
        version: response.system_version_info,
        names: response.resources.map((r) => r.name),
        resources: Object.fromEntries(
          response.resources.map((r) => [r.name, decoded(root, r.resource)[1]]),
        ),
        versions: Object.fromEntries(response.resources.map((r) => [r.name, r.version])),
        removed: response.removed_resources,
      };
    },
    ack: (response) => {
      request(response.typeUrl, { response_nonce: response.nonce });
    },
    nack: (response, message) => {
      request(response.typeUrl, {
        response_nonce: response.nonce,
        error_detail: { code: 13, message },
      });
    },
    close: () => {
      client.close();
    },
  };
}
