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
  type MethodCodec,
} from './discovery-codec.ts';
import type { ExtraService } from './metrics-service.ts';
import { NodeMemory } from './node-memory.ts';
import { groupOfCertificate, type PeerGroup } from './peer-group.ts';
import type { Rejection } from './rejections.ts';
import { serverCredentials, type ServerTlsSource } from './server-credentials.ts';
import { SotwStream } from './sotw-stream.ts';
import type {
  EnvoyStream,
  GraphReport,
  StreamEvents,
  StreamStatus,
  XdsStream,
} from './xds-stream.ts';

const service = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

interface Node {
  readonly id?: string;
  readonly cluster?: string;
}

/** What the server reads of every request: the node, on the first. */
interface NodeRequest {
  readonly node?: Node | null;
}

/** One of ADS's two methods: its messages, and the stream that serves a call. */
interface Method<Request extends NodeRequest, Response> {
  readonly name: string;
  readonly codec: MethodCodec<Request, Response>;
  /** `group`: the one the Envoy's client certificate names, if mutual TLS is on. */
  readonly open: (
    write: (response: Response) => void,
    group: string | undefined,
  ) => XdsStream<Response> & {
    onRequest(request: Request): void;
  };
}

function definitionOf<Request extends NodeRequest, Response>({
  name,
  codec,
}: Method<Request, Response>): grpc.MethodDefinition<Request, Response> {
  return {
    path: `/${service}/${name}`,
    requestStream: true,
    responseStream: true,
    requestDeserialize: codec.decodeRequest,
    requestSerialize: codec.encodeRequest,
    responseSerialize: codec.encodeResponse,
    responseDeserialize: codec.decodeResponse,
  };
}

/** A log line's fields: names, never payloads. */
export type LogFields = Readonly<Record<string, string>>;

/** The fields of a line about an Envoy: its node id and the node group it is served as. */
function envoyFields(stream: EnvoyStream): LogFields {
  return { envoy: stream.nodeId, group: stream.nodeCluster };
}

/** grpc-js refuses messages over 4 MiB by default; a fleet's route table is larger than that. */
const maxMessageBytes = 256 * 1024 * 1024;

export interface AdsServerOptions {
  /** Lines about an Envoy carry its node id (`envoy`) and node group (`group`) as fields. */
  readonly log?: (message: string, fields?: LogFields) => void;
  /** Called on every ACK and NACK, e.g. to measure convergence. */
  readonly events?: Partial<StreamEvents>;
  /**
   * Serve over TLS, following the source's rotations. With a client CA in it,
   * TLS is mutual: an Envoy gets configuration only with a certificate from
   * that CA naming its node group (peer-group.ts), whatever its node.cluster says.
   */
  readonly tls?: ServerTlsSource;
  /** Other gRPC services Envoy reaches through its xDS cluster (the metrics service). */
  readonly services?: readonly ExtraService[];
  /** Called when an Envoy has said who it is, and when it leaves. */
  readonly connections?: (stream: EnvoyStream, connected: boolean) => void;
  /** A gRPC stream ended in an error (Envoy went away mid-stream, a transport failure). */
  readonly streamError?: () => void;
}

/** How long a refused Envoy's first message (its node id, for the log) is waited for. */
const refusalWaitMs = 2000;

/** A refusal is logged once per Envoy and reason in this long; Envoy retries every 2 s. */
const refusalLogIntervalMs = 60_000;

function clientName(stream: EnvoyStream): string {
  return stream.client === 'executor' ? 'Executor' : 'Envoy';
}

function typeName(typeUrl: string): string {
  return typeUrl.split('.').at(-1) ?? typeUrl;
}

/** What a NACK was pinned on, for the log: the resources and the graphs they carry. */
function refusedWhat(rejected: readonly Rejection[]): string {
  if (rejected.length === 0) return '(it names no resource: its resources go again apart to tell)';
  const names = rejected.map((r) => r.name).join(', ');
  const graphs = [...new Set(rejected.flatMap((r) => r.graphs))];
  return graphs.length === 0 ? `(${names})` : `(${names}; graph ${graphs.join(', ')})`;
}

/**
 * The ADS endpoint: knows gRPC streams, nothing of where resources come
 * from. Each stream runs on its own, so a slow Envoy delays only itself.
 */
export class AdsServer {
  readonly #cache: SnapshotCache;
  readonly #codec: DiscoveryCodec;
  readonly #streams = new Set<EnvoyStream>();
  readonly #memory = new NodeMemory();
  readonly #options: AdsServerOptions;
  #server: grpc.Server | undefined;
  #unwatch: (() => void) | undefined;
  /** When each Envoy's refusal was last logged, and how many went unlogged since. */
  readonly #refusals = new Map<string, { at: number; unlogged: number }>();

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
    const sotw: Method<DiscoveryRequest, DiscoveryResponse> = {
      name: 'StreamAggregatedResources',
      codec: codec.sotw,
      open: (write, group) =>
        new SotwStream(this.#cache, codec, write, this.#streamEvents(), this.#memory, group),
    };
    const delta: Method<DeltaDiscoveryRequest, DeltaDiscoveryResponse> = {
      name: 'DeltaAggregatedResources',
      codec: codec.delta,
      open: (write, group) =>
        new DeltaStream(this.#cache, codec, write, this.#streamEvents(), this.#memory, group),
    };
    const definition: grpc.ServiceDefinition = {
      [sotw.name]: definitionOf(sotw),
      [delta.name]: definitionOf(delta),
    };
    server.addService(definition, {
      [sotw.name]: this.#handler(sotw),
      [delta.name]: this.#handler(delta),
    });
    for (const extra of this.#options.services ?? []) {
      server.addService(extra.definition, { [extra.name]: this.#guarded(extra.handle) });
    }
    this.#unwatch = this.#cache.watch(() => {
      for (const stream of this.#streams) stream.changed();
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `${address.host.includes(':') ? `[${address.host}]` : address.host}:${String(address.port)}`,
        this.#options.tls
          ? serverCredentials(this.#options.tls)
          : grpc.ServerCredentials.createInsecure(),
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
    return this.#envoyStreams().map((s) => s.status());
  }

  /** Every connected Envoy, and what it runs of its group's graphs. */
  envoys(): { status: StreamStatus; graphs: GraphReport }[] {
    return this.#envoyStreams().map((s) => ({ status: s.status(), graphs: s.graphReport() }));
  }

  /** Every connected executor (a stream that takes plans): what `status` shows of them. */
  executors(): StreamStatus[] {
    return [...this.#streams].filter((s) => s.client === 'executor').map((s) => s.status());
  }

  #envoyStreams(): EnvoyStream[] {
    return [...this.#streams].filter((s) => s.client === 'envoy');
  }

  #streamEvents(): StreamEvents {
    const log = this.#options.log;
    const events = this.#options.events;
    return {
      failed: (s, error) => {
        log?.(
          `pushing to Envoy ${s.nodeId} failed: ${error.stack ?? error.message}`,
          envoyFields(s),
        );
        events?.failed?.(s, error);
      },
      sent: (s, typeUrl, version) => events?.sent?.(s, typeUrl, version),
      ack: (s, typeUrl, version) => events?.ack?.(s, typeUrl, version),
      nack: (s, typeUrl, version, message, rejected) => {
        log?.(
          `Envoy ${s.nodeId} rejected ${typeName(typeUrl)} version ${version} ${refusedWhat(rejected)}: ${message}`,
          { ...envoyFields(s), typeUrl, version },
        );
        events?.nack?.(s, typeUrl, version, message, rejected);
      },
    };
  }

  /**
   * Under mutual TLS, the group the call's client certificate names; a
   * certificate the client CA does not vouch for (none, another CA's, an
   * expired one) leaves grpc-js's auth context empty.
   */
  #peerGroup(
    call: Pick<grpc.ServerDuplexStream<unknown, unknown>, 'getAuthContext'>,
  ): PeerGroup | undefined {
    if (!this.#options.tls?.value.ca) return undefined;
    const peer = call.getAuthContext().sslPeerCertificate;
    if (!peer) {
      return {
        ok: false,
        reason:
          'it presented no client certificate the xDS client CA vouches for (none, one of another CA, or one expired or not yet valid)',
      };
    }
    return groupOfCertificate(peer.subjectaltname);
  }

  /** Under mutual TLS, a service beside ADS hears only Envoys that would get configuration. */
  #guarded<Request>(
    handle: grpc.handleClientStreamingCall<Request, object>,
  ): grpc.handleClientStreamingCall<Request, object> {
    return (call, callback) => {
      const peer = this.#peerGroup(call);
      if (peer && !peer.ok) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: peer.reason });
        return;
      }
      handle(call, callback);
    };
  }

  #handler<Request extends NodeRequest, Response>(
    method: Method<Request, Response>,
  ): (call: grpc.ServerDuplexStream<Request, Response>) => void {
    return (call) => {
      const peer = this.#peerGroup(call);
      if (peer && !peer.ok) {
        this.#refuse(call, peer.reason);
        return;
      }
      const stream = method.open((response) => call.write(response), peer?.group);
      this.#serve(call, stream, (request) => {
        stream.onRequest(request);
      });
    };
  }

  /**
   * Ends a call that gets no configuration with UNAUTHENTICATED, once its
   * first message says which Envoy it is, and logs why: a refused Envoy
   * retries every two seconds, so each Envoy's refusal is logged once a minute.
   */
  #refuse<Request extends NodeRequest, Response>(
    call: grpc.ServerDuplexStream<Request, Response>,
    reason: string,
  ): void {
    let done = false;
    const finish = (node: Node | null | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const who = `Envoy ${node?.id || '(unknown)'} (claims group ${node?.cluster || '(none)'}) from ${call.getPeer()}`;
      this.#logRefusal(`${node?.id ?? ''}\n${reason}`, `refused ${who}: ${reason}`, {
        envoy: node?.id ?? '',
        claimedGroup: node?.cluster ?? '',
      });
      call.emit('error', {
        code: grpc.status.UNAUTHENTICATED,
        details: `no configuration: ${reason}`,
      });
    };
    const timer = setTimeout(() => {
      finish(undefined);
    }, refusalWaitMs);
    call.once('data', (request: Request) => {
      finish(request.node);
    });
    call.on('error', () => undefined);
    call.once('end', () => {
      finish(undefined);
    });
  }

  #logRefusal(key: string, line: string, fields: LogFields): void {
    const now = Date.now();
    const last = this.#refusals.get(key);
    if (last && now - last.at < refusalLogIntervalMs) {
      last.unlogged += 1;
      return;
    }
    if (this.#refusals.size >= 1024) this.#refusals.clear();
    const since =
      last && last.unlogged > 0
        ? ` (and ${String(last.unlogged)} time(s) since the last line)`
        : '';
    this.#refusals.set(key, { at: now, unlogged: 0 });
    this.#options.log?.(`${line}${since}`, fields);
  }

  #serve<Request extends NodeRequest, Response>(
    call: grpc.ServerDuplexStream<Request, Response>,
    stream: EnvoyStream,
    onRequest: (request: Request) => void,
  ): void {
    const log = this.#options.log;
    this.#streams.add(stream);
    const end = () => {
      if (!this.#streams.delete(stream)) return;
      stream.close();
      log?.(
        `${clientName(stream)} ${stream.nodeId || '(unknown)'} disconnected`,
        envoyFields(stream),
      );
      if (stream.nodeId !== '') this.#options.connections?.(stream, false);
    };
    call.on('data', (request: Request) => {
      const before = stream.nodeId;
      onRequest(request);
      if (before === '' && stream.nodeId !== '') {
        const claimed = request.node?.cluster ?? '';
        const certified = this.#options.tls?.value.ca !== undefined;
        const by = certified
          ? claimed === stream.nodeCluster
            ? ' by its certificate'
            : ` by its certificate, not group ${claimed === '' ? '(none)' : claimed} its node.cluster claims`
          : '';
        log?.(
          `${clientName(stream)} ${stream.nodeId} (group ${stream.nodeCluster}${by}, ${stream.protocol} xDS) connected`,
          envoyFields(stream),
        );
        this.#options.connections?.(stream, true);
      }
    });
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('error', () => {
      this.#options.streamError?.();
      end();
    });
    call.on('close', end);
  }
}
