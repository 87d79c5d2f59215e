import type {
  GraphPlan,
  MirrorPlan,
  RouteRule,
  RouteSettings,
  ValueCondition,
} from '../plan/types.ts';
import { seconds } from './durations.ts';
import { METADATA_NAMESPACE } from './listener.ts';

function stringMatch(match: ValueCondition['match']) {
  switch (match.kind) {
    case 'exact':
      return { string_match: { exact: match.value } };
    case 'prefix':
      return { string_match: { prefix: match.value } };
    case 'regex':
      return { string_match: { safe_regex: { regex: match.value } } };
    case 'present':
      return { present_match: match.present };
  }
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

function routeSettings(settings: RouteSettings) {
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

function errorBody(plan: GraphPlan, node: string, status: number, reason: string): string {
  return JSON.stringify({ error: { graph: plan.graph, node, status, reason } });
}

function action(plan: GraphPlan, rule: RouteRule) {
  const act = rule.action;
  switch (act.kind) {
    case 'forward':
      return { route: { cluster: act.upstream, prefix_rewrite: act.path, ...routeSettings(act) } };
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
      return {
        direct_response: {
          status: act.status,
          body: { inline_string: errorBody(plan, rule.node, act.status, act.reason) },
        },
        response_headers_to_add: [
          {
            header: { key: 'content-type', value: 'application/json' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        ],
      };
  }
}

/** The routes of one graph, in evaluation order. */
export function graphRoutes(plan: GraphPlan): Record<string, unknown>[] {
  return plan.rules.map((rule, index) => ({
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
    },
    ...action(plan, rule),
    metadata: { filter_metadata: { [METADATA_NAMESPACE]: { graph: plan.graph, node: rule.node } } },
  }));
}
