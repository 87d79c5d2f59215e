import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import {
  DiscoveryCodec,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../src/xds/discovery-codec.ts';

/**
 * A raw ADS client for protocol tests: it sends exactly the requests a test
 * writes, so edge cases Envoy never produces on its own can be exercised.
 */
export interface RawStream<Request, Response> {
  send(request: Request): void;
  /** The next response, or undefined if none comes within `timeoutMs`. */
  next(timeoutMs?: number): Promise<Response | undefined>;
  /** The status the call ended with. */
  readonly ended: Promise<grpc.StatusObject>;
  close(): void;
}

const service = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

function open<Request, Response>(
  address: string,
  method: string,
  serialize: (r: Request) => Buffer,
  deserialize: (b: Buffer) => Response,
  credentials: grpc.ChannelCredentials,
): RawStream<Request, Response> {
  const client = new grpc.Client(address, credentials);
  const call = client.makeBidiStreamRequest(`/${service}/${method}`, serialize, deserialize);
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    call.on('status', resolve);
  });
  const queue: Response[] = [];
  const waiters: ((r: Response) => void)[] = [];
  call.on('data', (response: Response) => {
    const waiter = waiters.shift();
    if (waiter) waiter(response);
    else queue.push(response);
  });
  call.on('error', () => undefined);
  return {
    ended,
    send: (request) => {
      call.write(request);
    },
    next: (timeoutMs = 2000) => {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve) => {
        const waiter = (r: Response) => {
          clearTimeout(timer);
          resolve(r);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          resolve(undefined);
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

export function sotwClient(
  root: protobuf.Root,
  address: string,
  credentials = grpc.credentials.createInsecure(),
): RawStream<DiscoveryRequest, DiscoveryResponse> {
  const codec = new DiscoveryCodec(root);
  return open(
    address,
    'StreamAggregatedResources',
    (r: DiscoveryRequest) => codec.sotw.encodeRequest(r),
    (b) => codec.sotw.decodeResponse(b),
    credentials,
  );
}

export function deltaClient(
  root: protobuf.Root,
  address: string,
  credentials = grpc.credentials.createInsecure(),
): RawStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  const codec = new DiscoveryCodec(root);
  return open(
    address,
    'DeltaAggregatedResources',
    (r: DeltaDiscoveryRequest) => codec.delta.encodeRequest(r),
    (b) => codec.delta.decodeResponse(b),
    credentials,
  );
}
