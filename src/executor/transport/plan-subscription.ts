import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { EXECUTION_PLAN_TYPE_URL } from '../../plan/execution.ts';
import type { ReferencedPlans } from '../interpreter/referenced-plans.ts';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/**
 * A response carries every plan of the executor's group (SotW), so this
 * bounds the sum of a group's plans: the xDS server's own send limit, far
 * above a 10,000-step graph's few megabytes.
 */
export const MAX_PLANS_MESSAGE_BYTES = 256 * 1024 * 1024;

/** Reconnects start this soon after a stream ends, doubling up to the most. */
const RECONNECT_MS = { first: 250, most: 5_000 };

export interface ControlPlaneTarget {
  /** "host:port" of the control plane's xDS server. */
  readonly address: string;
  /** The node group whose plans the executor runs (Envoy's node.cluster); under mutual TLS its certificate decides. */
  readonly group: string;
  readonly nodeId: string;
  /** The name the control plane's certificate must carry, when it is not the address's host. */
  readonly serverName?: string;
  /** Read again at every connection, so rotated files are used from the next one. */
  readonly tls?: () => { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

export interface PlanSubscription {
  close(): void;
}

interface DiscoveryResponse {
  readonly version_info: string;
  readonly nonce: string;
  readonly type_url: string;
  readonly resources: readonly { readonly type_url: string; readonly value: Uint8Array }[];
}

/**
 * The executor as an xDS client of the control plane, for plans only: one
 * SotW stream on ADS, each response the group's whole set of plans, ACKed
 * once the store has them (NACKed, naming the plans, if some cannot be
 * read). While the control plane is away the store keeps what it has, and
 * the stream is opened again, backing off.
 */
export function subscribeToPlans(
  root: protobuf.Root,
  target: ControlPlaneTarget,
  plans: ReferencedPlans,
  log: (message: string) => void,
): PlanSubscription {
  const requestType = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
  const responseType = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  const planType = root.lookupType('switchyard.v1.ExecutionPlan');
  const serialize = (request: object) =>
    Buffer.from(requestType.encode(requestType.fromObject(request)).finish());
  const deserialize = (bytes: Buffer) =>
    responseType.toObject(responseType.decode(bytes), {
      defaults: true,
      arrays: true,
    }) as DiscoveryResponse;
  let closed = false;
  let client: grpc.Client | undefined;
  let call: grpc.ClientDuplexStream<object, DiscoveryResponse> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let backoff = RECONNECT_MS.first;
  let lastError = '';

  const credentials = () => {
    if (!target.tls) return grpc.credentials.createInsecure();
    const { ca, cert, key } = target.tls();
    return grpc.credentials.createSsl(ca, key ?? null, cert ?? null);
  };

  const connect = () => {
    if (closed) return;
    try {
      client = new grpc.Client(target.address, credentials(), {
        'grpc.max_receive_message_length': MAX_PLANS_MESSAGE_BYTES,
        ...(target.serverName !== undefined && {
          'grpc.ssl_target_name_override': target.serverName,
        }),
      });
    } catch (error) {
      retry(`cannot connect: ${(error as Error).message}`);
      return;
    }
    const stream = client.makeBidiStreamRequest<object, DiscoveryResponse>(
      ADS_PATH,
      serialize,
      deserialize,
    );
    call = stream;
    const node = { id: target.nodeId, cluster: target.group };
    stream.write({ node, type_url: EXECUTION_PLAN_TYPE_URL, resource_names: [] });
    stream.on('data', (response: DiscoveryResponse) => {
      if (response.type_url !== EXECUTION_PLAN_TYPE_URL) return;
      backoff = RECONNECT_MS.first;
      if (lastError !== '') {
        log(`executor: taking plans from the control plane at ${target.address} again`);
        lastError = '';
      }
      const received = new Map<string, string>();
      const unreadable: string[] = [];
      for (const any of response.resources) {
        try {
          const plan = planType.toObject(planType.decode(any.value)) as {
            name?: string;
            plan?: string;
          };
          if (plan.name && plan.plan !== undefined) received.set(plan.name, plan.plan);
          else unreadable.push(plan.name ?? '(unnamed)');
        } catch (error) {
          unreadable.push(`(undecodable: ${(error as Error).message})`);
        }
      }
      plans.replace(received);
      stream.write({
        node,
        type_url: EXECUTION_PLAN_TYPE_URL,
        resource_names: [],
        version_info: response.version_info,
        response_nonce: response.nonce,
        ...(unreadable.length > 0 && {
          error_detail: { code: 3, message: `unreadable plans: ${unreadable.join(', ')}` },
        }),
      });
    });
    stream.on('error', (error: grpc.ServiceError) => {
      retry(error.details || error.message);
    });
    stream.on('end', () => {
      retry('the control plane ended the stream');
    });
  };

  const retry = (why: string) => {
    call?.removeAllListeners();
    call?.on('error', () => undefined);
    call?.cancel();
    call = undefined;
    client?.close();
    client = undefined;
    if (closed || timer) return;
    if (why !== lastError) {
      log(
        `executor: no plans from the control plane at ${target.address} (${why}); serving the ${String(plans.size)} it has, trying again`,
      );
      lastError = why;
    }
    timer = setTimeout(() => {
      timer = undefined;
      connect();
    }, backoff);
    backoff = Math.min(backoff * 2, RECONNECT_MS.most);
  };

  connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      call?.removeAllListeners();
      call?.on('error', () => undefined);
      call?.cancel();
      client?.close();
    },
  };
}
