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

/**
 * Protobuf codecs for the ADS messages, and Any encoding of resources done
 * once per resource version however many Envoys receive it.
 */
export class DiscoveryCodec {
  readonly #request: protobuf.Type;
  readonly #response: protobuf.Type;
  readonly #deltaRequest: protobuf.Type;
  readonly #deltaResponse: protobuf.Type;
  readonly #root: protobuf.Root;
  readonly #encoded = new WeakMap<VersionedResource, EncodedAny>();

  constructor(root: protobuf.Root) {
    this.#root = root;
    this.#request = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
    this.#response = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
    this.#deltaRequest = root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
    this.#deltaResponse = root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  }

  decodeRequest(bytes: Buffer): DiscoveryRequest {
    return this.#request.toObject(this.#request.decode(bytes), {
      defaults: true,
      arrays: true,
      enums: String,
      longs: Number,
    }) as DiscoveryRequest;
  }

  encodeRequest(request: DiscoveryRequest): Buffer {
    return Buffer.from(this.#request.encode(this.#request.fromObject(request)).finish());
  }

  encodeResponse(response: DiscoveryResponse): Buffer {
    return Buffer.from(this.#response.encode(this.#response.create(response)).finish());
  }

  decodeResponse(bytes: Buffer): DiscoveryResponse {
    return this.#response.toObject(this.#response.decode(bytes), {
      defaults: true,
      arrays: true,
    }) as DiscoveryResponse;
  }

  decodeDeltaRequest(bytes: Buffer): DeltaDiscoveryRequest {
    return this.#deltaRequest.toObject(this.#deltaRequest.decode(bytes), {
      defaults: true,
      arrays: true,
      objects: true,
      enums: String,
      longs: Number,
    }) as DeltaDiscoveryRequest;
  }

  encodeDeltaRequest(request: DeltaDiscoveryRequest): Buffer {
    return Buffer.from(this.#deltaRequest.encode(this.#deltaRequest.fromObject(request)).finish());
  }

  encodeDeltaResponse(response: DeltaDiscoveryResponse): Buffer {
    return Buffer.from(this.#deltaResponse.encode(this.#deltaResponse.create(response)).finish());
  }

  decodeDeltaResponse(bytes: Buffer): DeltaDiscoveryResponse {
    return this.#deltaResponse.toObject(this.#deltaResponse.decode(bytes), {
      defaults: true,
      arrays: true,
    }) as DeltaDiscoveryResponse;
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
