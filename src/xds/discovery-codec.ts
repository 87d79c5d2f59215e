import type protobuf from 'protobufjs';
import { encodeAny } from '../protos/proto-json.ts';
import type { VersionedResource } from './cache.ts';

export interface DiscoveryRequest {
  readonly version_info: string;
  readonly node?: { readonly id?: string; readonly cluster?: string };
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  // Decoded with defaults: an absent message field is null.
  readonly error_detail?: { readonly code?: number; readonly message?: string } | null;
}

export interface EncodedAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

export interface DiscoveryResponse {
  readonly version_info: string;
  readonly resources: readonly EncodedAny[];
  readonly type_url: string;
  readonly nonce: string;
}

export interface DeltaDiscoveryRequest {
  readonly node?: { readonly id?: string; readonly cluster?: string };
  readonly type_url: string;
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly initial_resource_versions: Readonly<Record<string, string>>;
  readonly response_nonce: string;
  // Decoded with defaults: an absent message field is null.
  readonly error_detail?: { readonly code?: number; readonly message?: string } | null;
}

export interface DeltaDiscoveryResponse {
  readonly system_version_info: string;
  readonly resources: readonly {
    readonly name: string;
    readonly version: string;
    readonly resource: EncodedAny;
  }[];
  readonly type_url: string;
  readonly removed_resources: readonly string[];
  readonly nonce: string;
}

/** The messages of one ADS method, both ways: the server's and a test client's. */
export interface MethodCodec<Request, Response> {
  readonly decodeRequest: (bytes: Buffer) => Request;
  readonly encodeRequest: (request: Request) => Buffer;
  readonly decodeResponse: (bytes: Buffer) => Response;
  readonly encodeResponse: (response: Response) => Buffer;
}

function methodCodec<Request, Response>(
  root: protobuf.Root,
  requestType: string,
  responseType: string,
): MethodCodec<Request, Response> {
  const request = root.lookupType(`envoy.service.discovery.v3.${requestType}`);
  const response = root.lookupType(`envoy.service.discovery.v3.${responseType}`);
  return {
    decodeRequest: (bytes) =>
      request.toObject(request.decode(bytes), {
        defaults: true,
        arrays: true,
        objects: true,
        enums: String,
        longs: Number,
      }) as Request,
    // Requests come from tests as plain objects; responses are built of encoded Anys.
    encodeRequest: (value) =>
      Buffer.from(request.encode(request.fromObject(value as object)).finish()),
    decodeResponse: (bytes) =>
      response.toObject(response.decode(bytes), { defaults: true, arrays: true }) as Response,
    encodeResponse: (value) =>
      Buffer.from(response.encode(response.create(value as object)).finish()),
  };
}

/**
 * Protobuf codecs for the ADS messages, and Any encoding of resources done
 * once per resource version however many Envoys receive it.
 */
export class DiscoveryCodec {
  readonly sotw: MethodCodec<DiscoveryRequest, DiscoveryResponse>;
  readonly delta: MethodCodec<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  readonly #root: protobuf.Root;
  readonly #encoded = new WeakMap<VersionedResource, EncodedAny>();

  constructor(root: protobuf.Root) {
    this.#root = root;
    this.sotw = methodCodec(root, 'DiscoveryRequest', 'DiscoveryResponse');
    this.delta = methodCodec(root, 'DeltaDiscoveryRequest', 'DeltaDiscoveryResponse');
  }

  any(resource: VersionedResource): EncodedAny {
    let encoded = this.#encoded.get(resource);
    if (!encoded) {
      encoded = encodeAny(this.#root, resource.resource);
      this.#encoded.set(resource, encoded);
    }
    return encoded;
  }
}
