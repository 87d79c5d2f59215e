import {
  EXECUTOR_REPLY_DETAILS,
  NO_ENDPOINT_HEADER,
  PLAN_HEADER,
  PLAN_REFERENCE_HEADER,
} from '../plan/execution.ts';
import { errorShape } from '../protocols/error-body.ts';
import { METADATA_NAMESPACE } from './options.ts';
import { typed } from './type-urls.ts';

/**
 * Every answer Envoy makes on its own (a "local reply": a codec error, a
 * refused body, an upstream that failed, a readiness check) is rewritten by
 * the listener's local_reply_config into the one error shape, naming the
 * graph and node from the matched route's metadata where there is a route.
 * Mappers are tried in order and the first that matches applies.
 */

const route = (key: string) => `%METADATA(ROUTE:${METADATA_NAMESPACE}:${key})%`;

/** The error shape with the graph and node of the route, both left out where no route matched. */
function errorFormat(status: number | string, reason: string) {
  return {
    omit_empty_values: true,
    json_format: errorShape({ graph: route('graph'), node: route('node'), status, reason }),
  };
}

function statusIs(status: number, key: string) {
  return {
    status_code_filter: {
      comparison: { op: 'EQ', value: { default_value: status, runtime_key: `switchyard.${key}` } },
    },
  };
}

function flags(list: readonly string[]) {
  return { response_flag_filter: { flags: list } };
}

function mapper(filter: Record<string, unknown>, status: number, reason: string) {
  return { filter, status_code: status, body_format_override: errorFormat(status, reason) };
}

/**
 * Answers Switchyard wrote itself pass unchanged: direct responses of routes
 * (their bodies are already in the shape, with a reason only the planner
 * knows) and the executor's answers through ext_proc (a local reply too).
 * Only a CEL filter sees the response code details that tell them apart.
 */
const ownAnswers = {
  filter: {
    extension_filter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typed_config: {
        '@type': typed('envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter'),
        expression: `response.code_details == 'direct_response' || response.code_details == '${EXECUTOR_REPLY_DETAILS}'`,
      },
    },
  },
};

/**
 * A readiness check Envoy answered itself (the health check filter of a
 * readiness route): 200 when every node it depends on has a healthy
 * endpoint, else 503 flagged LH. The route's metadata names what is ready.
 */
const readyMapper = {
  filter: statusIs(200, 'ready_status'),
  body_format_override: {
    omit_empty_values: true,
    json_format: { name: route('name'), ready: true },
  },
};
const notReadyMapper = mapper(
  flags(['LH']),
  503,
  'not ready: a node it depends on has no healthy endpoint (%RESPONSE_CODE_DETAILS%)',
);

const UPSTREAM_FAILURE_FLAGS = ['UF', 'UH', 'URX', 'UC', 'UR', 'NC'];

function onExecutorRoute(list: readonly string[]) {
  return {
    and_filter: {
      filters: [
        {
          or_filter: {
            filters: [PLAN_HEADER, PLAN_REFERENCE_HEADER].map((name) => ({
              header_filter: { header: { name, present_match: true } },
            })),
          },
        },
        flags(list),
      ],
    },
  };
}

/**
 * A route that sends requests to the executor (the only requests that carry
 * a plan header or a plan reference: the listener strips clients' copies) fails closed, as the
 * ext_proc filter does: 503 when the executor cannot be reached, 504 when
 * it outlives the graph's deadline (it answers 504 itself before that), 502
 * when what it sent back is not valid HTTP.
 */
const executorRouteMappers = [
  mapper(
    onExecutorRoute(['UT']),
    504,
    "the Switchyard executor did not answer within the graph's deadline",
  ),
  mapper(
    onExecutorRoute(['UPE']),
    502,
    'the Switchyard executor sent an answer that is not valid HTTP (%RESPONSE_CODE_DETAILS%)',
  ),
  mapper(
    onExecutorRoute([...UPSTREAM_FAILURE_FLAGS, 'UO']),
    503,
    'the Switchyard executor is unavailable (%RESPONSE_CODE_DETAILS%)',
  ),
];

/**
 * A node's failures, as Envoy saw them: its deadline 504, its circuit breaker or no endpoint
 * at all 503, the rest 502.
 */
export const nodeFailureMappers = [
  mapper(flags(['UT']), 504, 'the node did not answer within its timeout'),
  mapper(flags(['UO']), 503, "the node's circuit breaker is open: too many requests in flight"),
  // No endpoint at all (a Service with no ready pod): nothing failed, none serves. Marked, so
  // the executor, to which this is a hop's answer, answers the 503 as it is too.
  {
    ...mapper(flags(['UH']), 503, 'the node has no ready endpoint to send the request to'),
    headers_to_add: [
      {
        header: { key: NO_ENDPOINT_HEADER, value: 'true' },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      },
    ],
  },
  mapper(
    flags([...UPSTREAM_FAILURE_FLAGS, 'UPE']),
    502,
    'the node could not be reached: %RESPONSE_CODE_DETAILS%',
  ),
];

/**
 * Envoy answers 500 when the ext_proc stream fails (executor down, or too
 * slow); nothing else on the graph listener replies 500. Fail closed, and
 * say so: 503.
 */
const executorFailureMapper = mapper(
  statusIs(500, 'executor_failure_status'),
  503,
  'the Switchyard executor is unavailable (%RESPONSE_CODE_DETAILS%)',
);

/** A body over the graph's maxRequestBytes, refused as it streams in, or while buffering it. */
const tooLargeMapper = mapper(
  statusIs(413, 'too_large_status'),
  413,
  `the request body is larger than the graph's maxRequestBytes of ${route('max_request_bytes')}`,
);

/** No scope for the path, or no route in its table: no graph is served there. */
const noRouteMapper = mapper(
  flags(['NR']),
  404,
  'no inference graph is served on this host and path',
);

const headersTooLargeMapper = mapper(
  statusIs(431, 'headers_too_large_status'),
  431,
  'the request headers are larger than Envoy accepts (%RESPONSE_CODE_DETAILS%)',
);

const badRequestMapper = mapper(
  statusIs(400, 'bad_request_status'),
  400,
  'the request is not valid HTTP (%RESPONSE_CODE_DETAILS%)',
);

/** Whatever else Envoy answers itself, with its own status and the reason it gives. */
const anyOtherMapper = {
  filter: {
    status_code_filter: {
      comparison: { op: 'GE', value: { default_value: 0, runtime_key: 'switchyard.any_status' } },
    },
  },
  body_format_override: errorFormat(
    '%RESPONSE_CODE%',
    'Envoy answered the request itself: %LOCAL_REPLY_BODY% (%RESPONSE_CODE_DETAILS%)',
  ),
};

/** The graph listener's mappers. */
export function graphListenerMappers(): Record<string, unknown>[] {
  return [
    ownAnswers,
    readyMapper,
    notReadyMapper,
    ...executorRouteMappers,
    ...nodeFailureMappers,
    executorFailureMapper,
    tooLargeMapper,
    noRouteMapper,
    headersTooLargeMapper,
    badRequestMapper,
    anyOtherMapper,
  ];
}
