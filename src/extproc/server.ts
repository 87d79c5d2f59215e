import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { PLAN_METADATA_KEY } from '../plan/execution.ts';
import type { RunServices } from './graph-run.ts';
import { HopClient } from './hop-client.ts';
import { PlanCache } from './plan-cache.ts';
import { RequestProcessor, responseEncoder, type ProcessingRequest } from './processor.ts';

const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** Bodies travel in ext_proc messages; grpc-js refuses anything over 4 MiB by default. */
const maxMessageBytes = 1024 * 1024 * 1024;

export interface ExecutorOptions {
  readonly host: string;
  readonly port: number;
  /** Envoy's hop listener, e.g. http://127.0.0.1:10001. */
  readonly hopUrl: string;
  readonly log?: (message: string) => void;
}

export interface Executor {
  readonly port: number;
  stop(): Promise<void>;
}

function immediateError(root: protobuf.Root, status: number, reason: string): Uint8Array {
  return responseEncoder(root).encode({
    immediate_response: {
      status: { code: status },
      headers: {
        set_headers: [
          { header: { key: 'content-type', raw_value: Buffer.from('application/json') } },
        ],
      },
      body: Buffer.from(JSON.stringify({ error: { node: 'executor', status, reason } })),
      details: 'switchyard_executor',
    },
  });
}

/**
 * The ExternalProcessor gRPC service. Stateless: every stream brings its
 * plan in its initial metadata (set by the route Envoy matched).
 */
export async function startExecutor(
  root: protobuf.Root,
  options: ExecutorOptions,
): Promise<Executor> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const requestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const hops = new HopClient(options.hopUrl);
  const services: RunServices = {
    hops,
    random: Math.random,
    newId: () => randomUUID().replaceAll('-', ''),
  };
  const plans = new PlanCache();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
  const definition: grpc.ServiceDefinition = {
    Process: {
      path: PROCESS_PATH,
      requestStream: true,
      responseStream: true,
      requestDeserialize: (bytes: Buffer) => requestType.decode(bytes),
      requestSerialize: () => Buffer.alloc(0),
      responseSerialize: (bytes: Uint8Array) =>
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      responseDeserialize: (bytes: Buffer) => bytes,
    },
  };
  server.addService(definition, {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, Uint8Array>) => {
      const send = (message: Uint8Array) => {
        if (!call.writableEnded) call.write(message);
      };
      const [text] = call.metadata.get(PLAN_METADATA_KEY);
      const plan = plans.get(typeof text === 'string' ? text : (text?.toString('utf8') ?? ''));
      if (!plan.ok) {
        log(`executor: ${plan.reason}`);
        // Answer the first message with the error; Envoy sends nothing else before it is answered.
        call.once('data', () => {
          send(immediateError(root, 502, plan.reason));
          call.end();
        });
        return;
      }
      const finish = () => {
        if (!call.writableEnded) call.end();
      };
      const processor = new RequestProcessor(root, plan.value, services, send, finish, log);
      call.on('data', (request: ProcessingRequest) => {
        processor.handle(request).catch((error: unknown) => {
          log(
            `executor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          );
          call.destroy();
        });
      });
      call.on('end', finish);
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host}:${String(options.port)}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => {
        if (error) reject(error);
        else resolve(bound);
      },
    );
  });
  return {
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      });
      await hops.close();
    },
  };
}
