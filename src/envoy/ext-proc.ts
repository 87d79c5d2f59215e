import { EXECUTOR_NAMESPACE, MAX_GRAPH_WAIT_MS, type ExecutionPlan } from '../plan/execution.ts';
import { planCarriage } from './plan-carriage.ts';
import { typed } from './type-urls.ts';

export const EXT_PROC_FILTER = 'envoy.filters.http.ext_proc';
export const BUFFER_FILTER = 'envoy.filters.http.buffer';
/** The executor over HTTP/2: its ext_proc service. */
export const EXECUTOR_CLUSTER = 'switchyard-executor';
/** The executor over HTTP/1.1: the routes it answers as an upstream. */
export const EXECUTOR_HTTP1_CLUSTER = 'switchyard-executor-http1';

/**
 * Envoy retries what the executor never saw (a refused stream, a failed
 * connection) this many times, this soon: either way the executor is near.
 * A retry goes to another worker: the one that failed may be restarting.
 */
export const EXECUTOR_RETRIES = {
  num_retries: 2,
  retry_back_off: { base_interval: '0.005s', max_interval: '0.05s' },
  retry_host_predicate: [
    {
      name: 'envoy.retry_host_predicates.previous_hosts',
      typed_config: {
        '@type': typed('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'),
      },
    },
  ],
  host_selection_retry_max_attempts: 3,
};

/**
 * The ext_proc filter of the graph listener, off unless a route turns it on:
 * graphs Envoy runs natively never meet the executor. Request headers and
 * the buffered body go to the executor; responses bypass it, so answers that
 * Envoy forwards (hand-offs) stream to the client.
 */
export function extProcFilter() {
  return {
    name: EXT_PROC_FILTER,
    disabled: true,
    typed_config: {
      '@type': typed('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor'),
      grpc_service: {
        envoy_grpc: { cluster_name: EXECUTOR_CLUSTER },
        // A stream the executor refused or could not be reached for never ran: safe to retry.
        retry_policy: { retry_on: 'connect-failure,refused-stream', ...EXECUTOR_RETRIES },
      },
      failure_mode_allow: false,
      processing_mode: {
        request_header_mode: 'SEND',
        response_header_mode: 'SKIP',
        request_body_mode: 'BUFFERED',
        response_body_mode: 'NONE',
        request_trailer_mode: 'SKIP',
        response_trailer_mode: 'SKIP',
      },
      message_timeout: '1s',
      max_message_timeout: `${String(MAX_GRAPH_WAIT_MS / 1000)}s`,
      metadata_options: { receiving_namespaces: { untyped: [EXECUTOR_NAMESPACE] } },
      stat_prefix: 'switchyard_executor',
    },
  };
}

/**
 * Envoy refuses to buffer more than a connection's buffer limit (1 MiB by
 * default) for ext_proc or for reading a body; the buffer filter, turned on
 * per route that reads the body, raises a request's limit to the graph's maxRequestBytes and no further.
 */
export function bufferFilter() {
  return {
    name: BUFFER_FILTER,
    disabled: true,
    typed_config: {
      '@type': typed('envoy.extensions.filters.http.buffer.v3.Buffer'),
      max_request_bytes: 1024 * 1024,
    },
  };
}

/** Turns the buffer filter on for one route: the body may be read up to `maxBytes`. */
export function bufferRouteConfig(maxBytes: number) {
  return {
    [BUFFER_FILTER]: {
      '@type': typed('envoy.config.route.v3.FilterConfig'),
      config: {
        '@type': typed('envoy.extensions.filters.http.buffer.v3.BufferPerRoute'),
        buffer: { max_request_bytes: maxBytes },
      },
    },
  };
}

/** Turns the executor on for one route and hands it the plan to run. */
export function extProcRouteConfig(plan: ExecutionPlan) {
  const carriage = planCarriage(plan);
  return {
    ...bufferRouteConfig(plan.maxBodyBytes),
    [EXT_PROC_FILTER]: {
      '@type': typed('envoy.config.route.v3.FilterConfig'),
      config: {
        '@type': typed('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute'),
        overrides: {
          grpc_initial_metadata: [{ key: carriage.header, value: carriage.value }],
        },
      },
    },
  };
}
