import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';

/**
 * A gRPC service of one client-streaming method, served beside ADS on the
 * same server: one address, one TLS guard.
 */
export interface ExtraService {
  readonly definition: grpc.ServiceDefinition;
  readonly name: string;
  readonly handle: grpc.handleClientStreamingCall<StreamMetricsMessage, object>;
}

/** Counter increments one Envoy reported in one flush, by stat name. */
export type CounterReport = (envoy: string, increments: ReadonlyMap<string, number>) => void;

export interface StreamMetricsMessage {
  identifier?: { node?: { id?: string } };
  envoy_metrics?: { name?: string; type?: number; metric?: { counter?: { value?: number } }[] }[];
}

const COUNTER = 0;

/**
 * Envoy's metrics service (envoy.service.metrics.v3.MetricsService): each
 * Envoy bootstrapped with the stat sink streams its stats every flush
 * interval. The bootstrap asks for counters as increments, so a report adds
 * up across Envoys without remembering each one's last totals. The Envoy
 * names itself in its stream's first message only.
 */
export function metricsService(root: protobuf.Root, report: CounterReport): ExtraService {
  const request = root.lookupType('envoy.service.metrics.v3.StreamMetricsMessage');
  const response = root.lookupType('envoy.service.metrics.v3.StreamMetricsResponse');
  const method: grpc.MethodDefinition<StreamMetricsMessage, object> = {
    path: '/envoy.service.metrics.v3.MetricsService/StreamMetrics',
    requestStream: true,
    responseStream: false,
    requestSerialize: (message) =>
      Buffer.from(request.encode(request.fromObject(message)).finish()),
    requestDeserialize: (bytes) => request.toObject(request.decode(bytes), { defaults: false }),
    responseSerialize: () => Buffer.from(response.encode(response.create()).finish()),
    responseDeserialize: () => ({}),
  };
  const streamMetrics: grpc.handleClientStreamingCall<StreamMetricsMessage, object> = (
    call,
    callback,
  ) => {
    let envoy = '';
    call.on('data', (message: StreamMetricsMessage) => {
      envoy = message.identifier?.node?.id ?? envoy;
      const increments = new Map<string, number>();
      for (const family of message.envoy_metrics ?? []) {
        if ((family.type ?? COUNTER) !== COUNTER || family.name === undefined) continue;
        // Tags are not sent as labels: a family is one stat, with one metric.
        const value = family.metric?.[0]?.counter?.value ?? 0;
        if (value > 0) increments.set(family.name, value);
      }
      if (increments.size > 0) report(envoy, increments);
    });
    call.on('end', () => {
      callback(null, {});
    });
    // A stream that breaks (the Envoy left) has nothing more to report.
    call.on('error', () => undefined);
  };
  return { definition: { StreamMetrics: method }, name: 'StreamMetrics', handle: streamMetrics };
}
