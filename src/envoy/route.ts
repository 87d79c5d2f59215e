import type {
  ExplainPlan,
  ForwardAction,
  GraphPlan,
  MirrorPlan,
  RejectAction,
  RouteRule,
  RouteSettings,
  ValueCondition,
} from '../plan/types.ts';
import { EXECUTOR_NAMESPACE, executorWaitMs, type ExecutionPlan } from '../plan/execution.ts';
import { errorBody } from '../protocols/error-body.ts';
import { explainPath, ROOT_PATH, SELDON_FEEDBACK_PATH } from '../protocols/paths.ts';
import { SELF_CLUSTER } from './cluster.ts';
import { seconds } from './durations.ts';
import { memoizeByIdentity } from './memoize.ts';
import {
  BODY_UNREADABLE_KEY,
  bodyMetadataMatcher,
  bodyRouteConfig,
  bodyValueMatcher,
} from './body-fields.ts';
import { executorRoute } from './executor-route.ts';
import { EXECUTOR_CLUSTER, EXECUTOR_HTTP1_CLUSTER, extProcRouteConfig } from './ext-proc.ts';
import { nodeRefusalsRouteConfig } from './node-refusals.ts';
import { METADATA_NAMESPACE } from './options.ts';
import { bodyLimitRouteConfig, readinessRouteConfig } from './route-filters.ts';
import { graphStatName } from './stat-names.ts';
import { stringMatcher } from './string-matcher.ts';
import { typed } from './type-urls.ts';

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

export function directResponse(body: string, status: number) {
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

function reject(plan: GraphPlan, node: string, act: RejectAction) {
  return directResponse(
    errorBody({ graph: plan.id, node, status: act.status, reason: act.reason }),
    act.status,
  );
}

type Route = Record<string, unknown>;

/** A rule's route action, and the filters it turns on for its route. */
function action(plan: GraphPlan, rule: RouteRule): { action: Route; filters?: Route } {
  const act = rule.action;
  switch (act.kind) {
    case 'forward':
      return { action: forward(act) };
    case 'sticky-split':
      return {
        action: {
          route: {
            weighted_clusters: {
              clusters: act.targets.map((t) => ({ name: t.upstream, weight: t.weight })),
              use_hash_policy: true,
            },
            hash_policy: [{ header: { header_name: act.header } }],
            prefix_rewrite: act.path,
            ...routeSettings(act),
          },
        },
      };
    case 'reject':
      return { action: reject(plan, rule.node, act) };
    case 'execute': {
      const executor = plan.executors.find((e) => e.entry === act.entry);
      if (executor?.transport === 'upstream') return { action: executorRoute(executor.plan) };
      // The executor answers every request itself or hands it off; reaching
      // this answer means it gave a request back without doing either.
      return {
        action: directResponse(
          errorBody({
            graph: plan.id,
            node: rule.node,
            status: 502,
            reason: 'the executor returned the request unanswered',
          }),
          502,
        ),
        ...(executor && {
          filters: { ...extProcRouteConfig(executor.plan), ...nodeRefusalsRouteConfig() },
        }),
      };
    }
  }
}

/** Errors name the graph by id ("<namespace>/<name>"), as the executor's own do. */
function metadata(graph: string, node: string) {
  return { filter_metadata: { [METADATA_NAMESPACE]: { graph, node } } };
}

/** A route that takes a body: its limit, for the listener's 413 to say it. */
function bodyRouteMetadata(plan: GraphPlan, node: string) {
  return {
    filter_metadata: {
      [METADATA_NAMESPACE]: { graph: plan.id, node, max_request_bytes: plan.maxRequestBytes },
    },
  };
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
 * request itself and streams the answer. They match the path the request
 * came on, so each path the graph's rules are served on has its own.
 */
function handoffRoutes(plan: GraphPlan, path: string, prefix: string): Route[] {
  return plan.handoffs.map((handoff) => ({
    name: `${prefix}handoff/${handoff.node}`,
    match: {
      path,
      dynamic_metadata: [
        {
          filter: EXECUTOR_NAMESPACE,
          path: [{ key: 'handoff' }],
          value: { string_match: { exact: handoff.key } },
        },
      ],
    },
    ...forward(handoff.forward),
    typed_per_filter_config: nodeRefusalsRouteConfig(),
    // What the executor decided on the way, as it would have said in its own answer.
    response_headers_to_add: [
      fromExecutor('x-switchyard-routing', 'routing'),
      fromExecutor('x-switchyard-soft-failures', 'soft_failures'),
    ],
    metadata: metadata(plan.id, handoff.node),
    stat_prefix: graphStatName(plan.id),
  }));
}

const GET = [{ name: ':method', string_match: { exact: 'GET' } }];

export function jsonGet(name: string, path: string, body: unknown): Route {
  return { name, match: { path, headers: GET }, ...directResponse(JSON.stringify(body), 200) };
}

/**
 * Readiness, answered by Envoy itself from the health of `clusters` (see
 * route-filters.ts): the route's own action is never reached. The metadata
 * names what is ready in the answer: the graph, or nothing for a server.
 */
export function readinessRoute(
  name: string,
  path: string,
  clusters: readonly string[],
  plan?: GraphPlan,
): Route {
  return {
    name,
    match: { path, headers: GET },
    ...directResponse(
      errorBody({
        ...(plan && { graph: plan.id }),
        status: 503,
        reason: 'the readiness check did not run',
      }),
      503,
    ),
    typed_per_filter_config: readinessRouteConfig(clusters),
    metadata: {
      filter_metadata: {
        [METADATA_NAMESPACE]: plan ? { graph: plan.id, name: plan.graph } : {},
      },
    },
  };
}

/**
 * The upstreams whose health is the graph's readiness: its nodes', and the
 * executor's if it runs a step of JSON requests too (a graph Envoy runs that
 * sends it only binary tensors is ready without it, as for JSON clients).
 */
export function readinessClusters(plan: GraphPlan): string[] {
  const executors = new Set(
    plan.executors
      .filter((e) => e.binaryTensorsOnly !== true)
      .map((e) => (e.transport === 'upstream' ? EXECUTOR_HTTP1_CLUSTER : EXECUTOR_CLUSTER)),
  );
  return [...plan.readiness, ...[...executors].sort()];
}

/**
 * Open Inference Protocol clients may name a version of the model; graphs
 * have none, so any version is the graph. Envoy sends such a request back to
 * its own listener without the version, where it takes the graph's routes
 * as it would have unversioned: one loopback hop for these requests, nothing
 * for the others, and no second copy of the graph's routes. URI templates
 * (not regexes, whose size Envoy's runtime may bound) match and rewrite, and
 * the rewritten path has one "/versions/<v>" less: a request goes round once
 * for each it holds.
 */
function versionedRoutes(plan: GraphPlan): Route[] {
  const base = `/v2/models/${plan.graph}`;
  return [
    [`${base}/versions/{version}`, base, 'versioned'],
    [`${base}/versions/{version}/{rest=**}`, `${base}/{rest}`, 'versioned/rest'],
  ].map(([template, rewrite, name]) => ({
    name: `${plan.id}/${String(name)}`,
    match: {
      path_match_policy: {
        name: 'envoy.path.match.uri_template.uri_template_matcher',
        typed_config: {
          '@type': typed('envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig'),
          path_template: template,
        },
      },
    },
    route: {
      cluster: SELF_CLUSTER,
      path_rewrite_policy: {
        name: 'envoy.path.rewrite.uri_template.uri_template_rewriter',
        typed_config: {
          '@type': typed('envoy.extensions.path.rewrite.uri_template.v3.UriTemplateRewriteConfig'),
          path_template_rewrite: rewrite,
        },
      },
      // The graph's own routes hold the deadline; this one only must not cut it short.
      timeout: seconds(executorWaitMs(plan.timeoutMs)),
    },
    typed_per_filter_config: bodyLimitRouteConfig(plan.maxRequestBytes),
    metadata: bodyRouteMetadata(plan, plan.graph),
  }));
}

/** KServe V1's explanation: the explainer node's own :explain path, or a 404 saying there is none. */
function explainRoute(plan: GraphPlan, explain: ExplainPlan): Route {
  const act = explain.action;
  return {
    name: `${plan.id}/explain`,
    match: { path: explainPath(plan.graph) },
    ...(act.kind === 'forward' ? forward(act) : reject(plan, explain.node, act)),
    typed_per_filter_config: bodyLimitRouteConfig(plan.maxRequestBytes),
    metadata: bodyRouteMetadata(plan, explain.node),
  };
}

/** Seldon feedback: the executor sends it to every node the prediction went through. */
function feedbackRoutes(plan: GraphPlan, feedback: ExecutionPlan): Route[] {
  const paths = [
    SELDON_FEEDBACK_PATH,
    ...plan.gatewayPrefixes.map((prefix) => `${prefix}${SELDON_FEEDBACK_PATH}`),
  ];
  return paths.map((path, index) => ({
    name: `${plan.id}/feedback${index === 0 ? '' : `/${String(index)}`}`,
    match: { path },
    ...executorRoute(feedback),
    typed_per_filter_config: bodyLimitRouteConfig(plan.maxRequestBytes),
    metadata: bodyRouteMetadata(plan, feedback.entry),
  }));
}

/** What clients ask of a graph besides inference, answered by Envoy itself. */
function modelInfoRoutes(plan: GraphPlan): Route[] {
  const ready = readinessRoute(
    `${plan.id}/ready`,
    plan.readinessPath,
    readinessClusters(plan),
    plan,
  );
  switch (plan.protocol) {
    case 'v1':
      return [ready, ...(plan.explain ? [explainRoute(plan, plan.explain)] : [])];
    case 'v2':
      return [
        jsonGet(`${plan.id}/metadata`, `/v2/models/${plan.graph}`, {
          name: plan.graph,
          versions: [],
          platform: 'switchyard',
          inputs: [],
          outputs: [],
        }),
        ready,
        ...versionedRoutes(plan),
      ];
    case 'seldon':
      return [ready, ...(plan.feedback ? feedbackRoutes(plan, plan.feedback) : [])];
  }
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

function ruleRoute(plan: GraphPlan, rule: RouteRule, name: string, path: string): Route {
  const body = bodyMatch(rule);
  const { action: routeAction, filters } = action(plan, rule);
  return {
    name,
    match: {
      path,
      ...(rule.headers.length > 0 && {
        headers: rule.headers.map((h) => ({ name: h.name, ...stringMatch(h.match) })),
      }),
      ...(rule.queries.length > 0 && {
        query_parameters: rule.queries.map((q) => ({ name: q.name, ...stringMatch(q.match) })),
      }),
      ...(rule.drawBelow !== undefined && { runtime_fraction: perMillion(rule.drawBelow) }),
      ...(body.length > 0 && { dynamic_metadata: body }),
    },
    ...routeAction,
    typed_per_filter_config: {
      ...bodyLimitRouteConfig(plan.maxRequestBytes),
      ...filters,
      // The planner keeps executor routes out of switches that read the body.
      ...(rule.readsBodyUpTo !== undefined && bodyRouteConfig(rule.readsBodyUpTo)),
    },
    metadata: bodyRouteMetadata(plan, rule.node),
    // Shared by all of the graph's inference routes on a host, so their stats add up per graph.
    stat_prefix: graphStatName(plan.id),
  };
}

/** The graph's inference on `path`: its hand-off routes, then its rules, named after `prefix`. */
function inferenceRoutes(plan: GraphPlan, path: string, prefix: string): Route[] {
  return [
    ...handoffRoutes(plan, path, prefix),
    ...plan.rules.map((rule, index) => ruleRoute(plan, rule, `${prefix}${String(index)}`, path)),
  ];
}

/** The routes of one graph, in evaluation order. */
function routesOf(plan: GraphPlan): Route[] {
  return [
    ...modelInfoRoutes(plan),
    ...inferenceRoutes(plan, plan.publicPath, `${plan.id}/`),
    ...plan.gatewayPrefixes.flatMap((prefix, index) =>
      inferenceRoutes(plan, `${prefix}${plan.publicPath}`, `${plan.id}/gateway-${String(index)}/`),
    ),
  ];
}

export const graphRoutes = memoizeByIdentity(routesOf);

/**
 * The graph's inference on its host's root path, where KServe
 * InferenceGraph clients call; served while it is the one graph on its host.
 */
export const rootRoutes = memoizeByIdentity((plan: GraphPlan) =>
  inferenceRoutes(plan, ROOT_PATH, `${plan.id}/root/`),
);
