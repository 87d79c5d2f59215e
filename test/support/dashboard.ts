import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Grafana dashboard in the repo: every PromQL expression of its panels and variables. */
export function dashboardExpressions(): string[] {
  const file = join(import.meta.dirname, '..', '..', 'deploy', 'grafana', 'switchyard.json');
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
    templating: { list: { definition?: string }[] };
  };
  return [
    ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [v.definition])),
  ];
}

/** The metric names an expression reads, with a prefix: switchyard_ or envoy_ (not label names, which a matcher follows). */
export function metricNames(expressions: readonly string[], prefix: string): Set<string> {
  const pattern = new RegExp(`\\b${prefix}[a-z0-9_]+\\b(?!\\s*(=|!=|=~|!~))`, 'g');
  return new Set(expressions.flatMap((expr) => expr.match(pattern) ?? []));
}
