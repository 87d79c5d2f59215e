import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import type { SnapshotCache } from './cache.ts';
import { DeltaStream } from './delta-stream.ts';
import {
  DiscoveryCodec,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from './discovery-codec.ts';
import { SotwStream } from './sotw-stream.ts';
import type { StreamEvents, StreamStatus, XdsStream } from './xds-stream.ts';

const service = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** grpc-js refuses messages over 4 MiB by default; a fleet's route table is larger than that. */
const maxMessageBytes = 256 * 1024 * 1024;

export interface AdsServerOptions {
  readonly log?: (message: string) => void;
  /** Called on every ACK and NACK, e.g. to measure convergence. */
  readonly events?: Partial<StreamEvents>;
}

/**
 * The ADS endpoint: knows gRPC streams, nothing of where resources come
 * from. Each stream runs on its own, so a slow Envoy delays only itself.
 */
export class AdsServer {
  readonly #cache: SnapshotCache;
  readonly #codec: DiscoveryCodec;
  readonly #streams = new Set<XdsStream>();
  readonly #options: AdsServerOptions;
  #server: grpc.Server | undefined;
  #unwatch: (() => void) | undefined;

  constructor(cache: SnapshotCache, root: protobuf.Root, options: AdsServerOptions = {}) {
    this.#cache = cache;
    this.#codec = new DiscoveryCodec(root);
    this.#options = options;
  }

  /** Starts listening; resolves to the bound port (pass 0 for any free port). */
  async start(address: { host: string; port: number }): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
    });
    const codec = this.#codec;
    const definition: grpc.ServiceDefinition = {
      StreamAggregatedResources: {
        path: `/${service}/StreamAggregatedResources`,
        requestStream: true,
        responseStream: true,
        requestDeserialize: (bytes: Buffer) => codec.decodeRequest(bytes),
        requestSerialize: (request: DiscoveryRequest) => codec.encodeRequest(request),
        responseSerialize: (response: DiscoveryResponse) => codec.encodeResponse(response),
        responseDeserialize: (bytes: Buffer) => codec.decodeResponse(bytes),
      },
      DeltaAggregatedResources: {
        path: `/${service}/DeltaAggregatedResources`,
        requestStream: true,
        responseStream: true,
        requestDeserialize: (bytes: Buffer) => codec.decodeDeltaRequest(bytes),
        requestSerialize: (request: DeltaDiscoveryRequest) => codec.encodeDeltaRequest(request),
        responseSerialize: (response: DeltaDiscoveryResponse) =>
          codec.encodeDeltaResponse(response),
        responseDeserialize: (bytes: Buffer) => codec.decodeDeltaResponse(bytes),
      },
    };
    server.addService(definition, {
      StreamAggregatedResources: (
        call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>,
      ) => {
        const stream = new SotwStream(
          this.#cache,
          codec,
          (r) => call.write(r),
          this.#streamEvents(),
        );
        this.#serve(call, stream, (request) => {
          stream.onRequest(request);
        });
      },
      DeltaAggregatedResources: (
        call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>,
      ) => {
        const stream = new DeltaStream(
          this.#cache,
          codec,
          (r) => call.write(r),
          this.#streamEvents(),
        );
        this.#serve(call, stream, (request) => {
          stream.onRequest(request);
        });
      },
    });
    this.#unwatch = this.#cache.watch(() => {
      for (const stream of this.#streams) stream.changed();
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `${address.host.includes(':') ? `[${address.host}]` : address.host}:${String(address.port)}`,
        grpc.ServerCredentials.createInsecure(),
        (error, bound) => {
          if (error) reject(error);
          else resolve(bound);
        },
      );
    });
    this.#server = server;
    return port;
  }

  async stop(): Promise<void> {
    this.#unwatch?.();
    for (const stream of this.#streams) stream.close();
    this.#streams.clear();
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.tryShutdown(() => {
        resolve();
      });
      // Envoy keeps its ADS stream open forever: do not wait for it to leave.
      setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 200).unref();
    });
  }

  status(): StreamStatus[] {
    return [...this.#streams].map((s) => s.status());
  }

  #streamEvents(): StreamEvents {
    const log = this.#options.log;
    const events = this.#options.events;
    return {
      failed: (s, error) => {
        log?.(`pushing to Envoy ${s.nodeId} failed: ${error.stack ?? error.message}`);
        events?.failed?.(s, error);
      },
      sent: (s, typeUrl, version) => events?.sent?.(s, typeUrl, version),
      ack: (s, typeUrl, version) => events?.ack?.(s, typeUrl, version),
      nack: (s, typeUrl, version, message) => {
        log?.(
          `Envoy ${s.nodeId} rejected ${typeUrl.split('.').at(-1) ?? typeUrl} version ${version}: ${message}`,
        );
        events?.nack?.(s, typeUrl, version, message);
      },
    };
  }

  #serve<Request, Response>(
    call: grpc.ServerDuplexStream<Request, Response>,
    stream: XdsStream,
    onRequest: (request: Request) => void,
  ): void {
    const log = this.#options.log;
    this.#streams.add(stream);
    const end = () => {
      if (!this.#streams.delete(stream)) return;
      stream.close();
      log?.(`Envoy ${stream.nodeId || '(unknown)'} disconnected`);
    };
    call.on('data', (request: Request) => {
      const known = stream.nodeId !== '';
      onRequest(request);
      if (!known && stream.nodeId !== '') {
        log?.(
          `Envoy ${stream.nodeId} (group ${stream.nodeCluster}, ${stream.protocol} xDS) connected`,
        );
      }
    });
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('error', end);
    call.on('close', end);
  }
}
