import type {
  ForwardAction,
  GraphPlan,
  MirrorPlan,
  RouteRule,
  RouteSettings,
  ValueCondition,
} from '../plan/types.ts';
import { EXECUTOR_NAMESPACE, type ExecutionPlan } from '../plan/execution.ts';
import { errorBody } from '../protocols/error-body.ts';
import { SELDON_FEEDBACK_PATH } from '../protocols/paths.ts';
import { seconds } from './durations.ts';
import { memoizeByIdentity } from './memoize.ts';
import {
  BODY_UNREADABLE_KEY,
  bodyMetadataMatcher,
  bodyRouteConfig,
  bodyValueMatcher,
} from './body-fields.ts';
import { executorRoute } from './executor-route.ts';
import { extProcRouteConfig } from './ext-proc.ts';
import { METADATA_NAMESPACE } from './options.ts';
import { stringMatcher } from './string-matcher.ts';

function stringMatch(match: ValueCondition['match']) {
  return match.kind === 'present'
    ? { present_match: match.present }
    : { string_match: stringMatcher(match) };
}

function perMillion(numerator: number) {
  return { default_value: { numerator, denominator: 'MILLION' } };
}

function mirrorPolicy(mirror: MirrorPlan) {
  return {
    cluster: mirror.upstream,
    ...(mirror.perTenThousand < 10_000 && {
      runtime_fraction: {
        default_value: { numerator: mirror.perTenThousand, denominator: 'TEN_THOUSAND' },
      },
    }),
  };
}

export function routeSettings(settings: RouteSettings) {
  const retries = settings.retries;
  return {
    // Set explicitly: Envoy's default route timeout of 15 s is wrong for most graphs.
    timeout: seconds(settings.timeoutMs),
    ...(retries && {
      retry_policy: {
        retry_on: retries.on.join(','),
        num_retries: retries.attempts,
        ...(retries.perTryTimeoutMs !== undefined && {
          per_try_timeout: seconds(retries.perTryTimeoutMs),
        }),
      },
    }),
    ...(settings.mirrors.length > 0 && {
      request_mirror_policies: settings.mirrors.map(mirrorPolicy),
    }),
  };
}

const jsonContentType = [
  {
    header: { key: 'content-type', value: 'application/json' },
    append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
  },
];

function directResponse(body: string, status: number) {
  return {
    direct_response: { status, body: { inline_string: body } },
    response_headers_to_add: jsonContentType,
  };
}

/** The catch-all of a route table: no graph is served here. */
export function notFoundRoute() {
  return {
    name: 'not-found',
    match: { prefix: '/' },
    ...directResponse(
      errorBody({ status: 404, reason: 'no inference graph is served on this host and path' }),
      404,
    ),
  };
}

function forward(act: ForwardAction) {
  return { route: { cluster: act.upstream, prefix_rewrite: act.path, ...routeSettings(act) } };
}

function action(plan: GraphPlan, rule: RouteRule) {
  const act = rule.action;
  switch (act.kind) {
    case 'forward':
      return forward(act);
    case 'sticky-split':
      return {
        route: {
          weighted_clusters: {
            clusters: act.targets.map((t) => ({ name: t.upstream, weight: t.weight })),
            use_hash_policy: true,
          },
          hash_policy: [{ header: { header_name: act.header } }],
          prefix_rewrite: act.path,
          ...routeSettings(act),
        },
      };
    case 'reject':
      return directResponse(
        errorBody({ graph: plan.id, node: rule.node, status: act.status, reason: act.reason }),
        act.status,
      );
    case 'execute': {
      const executor = plan.executors.find((e) => e.entry === act.entry);
      if (executor?.transport === 'upstream') return executorRoute(executor.plan);
      // The executor answers every request itself or hands it off; reaching
      // this answer means it gave a request back without doing either.
      return {
        ...directResponse(
          errorBody({
            graph: plan.id,
            node: rule.node,
            status: 502,
            reason: 'the executor returned the request unanswered',
          }),
          502,
        ),
        ...(executor && { typed_per_filter_config: extProcRouteConfig(executor.plan) }),
      };
    }
  }
}

/** Errors name the graph by id ("<namespace>/<name>"), as the executor's own do. */
function metadata(graph: string, node: string) {
  return { filter_metadata: { [METADATA_NAMESPACE]: { graph, node } } };
}

function fromExecutor(header: string, key: string) {
  return {
    header: { key: header, value: `%DYNAMIC_METADATA(${EXECUTOR_NAMESPACE}:${key})%` },
    append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
  };
}

/**
 * Routes that match only once the executor has chosen a model by dynamic
 * metadata and cleared the route cache: Envoy then forwards the prepared
 * request itself and streams the answer.
 */
function handoffRoutes(plan: GraphPlan) {
  return plan.handoffs.map((handoff) => ({
    name: `${plan.id}/handoff/${handoff.node}`,
    match: {
      path: plan.publicPath,
      dynamic_metadata: [
        {
          filter: EXECUTOR_NAMESPACE,
          path: [{ key: 'handoff' }],
          value: { string_match: { exact: handoff.key } },
        },
      ],
    },
    ...forward(handoff.forward),
    // What the executor decided on the way, as it would have said in its own answer.
    response_headers_to_add: [
      fromExecutor('x-switchyard-routing', 'routing'),
      fromExecutor('x-switchyard-soft-failures', 'soft_failures'),
    ],
    metadata: metadata(plan.id, handoff.node),
  }));
}

function jsonGet(name: string, path: string, body: unknown) {
  return {
    name,
    match: { path, headers: [{ name: ':method', string_match: { exact: 'GET' } }] },
    ...directResponse(JSON.stringify(body), 200),
  };
}

/**
 * What V1 and V2 clients ask of a model besides inference, answered for the
 * graph as a whole by Envoy itself: served means live and ready.
 */
function modelInfoRoutes(plan: GraphPlan) {
  switch (plan.protocol) {
    case 'v1':
      return [
        jsonGet(`${plan.id}/info`, `/v1/models/${plan.graph}`, { name: plan.graph, ready: true }),
      ];
    case 'v2':
      return [
        jsonGet(`${plan.id}/metadata`, `/v2/models/${plan.graph}`, {
          name: plan.graph,
          versions: [],
          platform: 'switchyard',
          inputs: [],
          outputs: [],
        }),
        jsonGet(`${plan.id}/ready`, `/v2/models/${plan.graph}/ready`, {
          name: plan.graph,
          ready: true,
        }),
      ];
    case 'seldon':
      return plan.feedback ? [feedbackRoute(plan, plan.feedback)] : [];
  }
}

/** Seldon feedback: the executor sends it to every node the prediction went through. */
function feedbackRoute(plan: GraphPlan, feedback: ExecutionPlan) {
  return {
    name: `${plan.id}/feedback`,
    match: { path: SELDON_FEEDBACK_PATH },
    ...executorRoute(feedback),
    metadata: metadata(plan.id, feedback.entry),
  };
}

/** Server health of the V2 protocol, once per virtual host that serves a V2 graph. */
export function serverHealthRoutes(host: string) {
  return [
    jsonGet(`${host}/live`, '/v2/health/live', { live: true }),
    jsonGet(`${host}/ready`, '/v2/health/ready', { ready: true }),
  ];
}

function bodyMatch(rule: RouteRule) {
  const matchers = rule.body.map((condition) =>
    bodyMetadataMatcher(condition.field.path, bodyValueMatcher(condition.match)),
  );
  if (rule.bodyUnreadable) {
    matchers.push(bodyMetadataMatcher(BODY_UNREADABLE_KEY, { present_match: true }));
  }
  return matchers;
}

function ruleRoute(plan: GraphPlan, rule: RouteRule, index: number): Record<string, unknown> {
  const body = bodyMatch(rule);
  return {
    name: `${plan.id}/${String(index)}`,
    match: {
      path: plan.publicPath,
      ...(rule.headers.length > 0 && {
        headers: rule.headers.map((h) => ({ name: h.name, ...stringMatch(h.match) })),
      }),
      ...(rule.queries.length > 0 && {
        query_parameters: rule.queries.map((q) => ({ name: q.name, ...stringMatch(q.match) })),
      }),
      ...(rule.drawBelow !== undefined && { runtime_fraction: perMillion(rule.drawBelow) }),
      ...(body.length > 0 && { dynamic_metadata: body }),
    },
    ...action(plan, rule),
    // The planner keeps executor routes out of switches that read the body.
    ...(rule.readsBodyUpTo !== undefined && {
      typed_per_filter_config: bodyRouteConfig(rule.readsBodyUpTo),
    }),
    metadata: metadata(plan.id, rule.node),
  };
}

/** The routes of one graph, in evaluation order. */
function routesOf(plan: GraphPlan): Record<string, unknown>[] {
  return [
    ...modelInfoRoutes(plan),
    ...handoffRoutes(plan),
    ...plan.rules.map((rule, index) => ruleRoute(plan, rule, index)),
  ];
}

export const graphRoutes = memoizeByIdentity(routesOf);
