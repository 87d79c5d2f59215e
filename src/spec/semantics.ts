import type { Diagnostic } from './diagnostic.ts';
import { parseEndpointUrl, parseHostPort } from './address.ts';
import { parseDuration } from './duration.ts';
import { formatPath, type PathSegment } from './paths.ts';
import type { Endpoint, NodeSpec, Retries, SwitchCondition } from './schema.ts';
import type { ValidatedDocument } from './validate.ts';

/**
 * Rules a JSON schema cannot say: one-of-these fields, values that must
 * parse, numbers that relate to each other. Runs on nodes that passed the
 * schema, so every field has its declared type here.
 */
type Report = (
  path: readonly PathSegment[],
  code: Diagnostic['code'],
  message: string,
  hint?: string,
) => void;

const hostPattern =
  /^(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)(:\d{1,5})?$/;
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const sources = ['header', 'query', 'body'] as const;
const operators = ['equals', 'in', 'prefix', 'regex', 'present', 'gt', 'gte', 'lt', 'lte'] as const;
const numericOperators = new Set(['gt', 'gte', 'lt', 'lte']);

function checkDuration(
  report: Report,
  path: readonly PathSegment[],
  text: string | undefined,
): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    report(
      path,
      'invalid-duration',
      `${JSON.stringify(text)} is not a positive duration`,
      'for example "250ms", "2s", "1.5s"',
    );
    return undefined;
  }
  return ms;
}

function checkEndpoint(report: Report, at: readonly PathSegment[], endpoint: Endpoint): void {
  const given = [endpoint.addresses && 'addresses', endpoint.url !== undefined && 'url'].filter(
    Boolean,
  );
  if (given.length !== 1) {
    report(
      [...at, 'endpoint'],
      given.length === 0 ? 'missing-field' : 'invalid-value',
      given.length === 0 ? 'needs addresses or url' : 'has both addresses and url',
      'give either addresses: ["host:port", ...] or url: http://host:port',
    );
  }
  endpoint.addresses?.forEach((address, index) => {
    if (!parseHostPort(address)) {
      report(
        [...at, 'endpoint', 'addresses', index],
        'invalid-address',
        `${JSON.stringify(address)} is not host:port with a port from 1 to 65535`,
        'for example "10.0.0.7:8080", "[::1]:9000" or "model.ns.svc:8080"',
      );
    }
  });
  if (endpoint.url !== undefined && !parseEndpointUrl(endpoint.url)) {
    report(
      [...at, 'endpoint', 'url'],
      'invalid-address',
      `${JSON.stringify(endpoint.url)} is not an http(s) URL of a host and optional port, without a path`,
      'for example http://iris.models.svc:8080',
    );
  }
}

function checkRetries(
  report: Report,
  at: readonly PathSegment[],
  retries: Retries | undefined,
  timeoutMs: number | undefined,
): void {
  if (!retries) return;
  const perTry = checkDuration(report, [...at, 'retries', 'perTryTimeout'], retries.perTryTimeout);
  if (perTry !== undefined && timeoutMs !== undefined && perTry > timeoutMs) {
    report(
      [...at, 'retries', 'perTryTimeout'],
      'invalid-value',
      `a try may not take longer (${String(retries.perTryTimeout)}) than the whole step (${String(timeoutMs)}ms)`,
      'lower perTryTimeout or raise timeout',
    );
  }
}

function checkHeaderNames(
  report: Report,
  at: readonly PathSegment[],
  names: readonly string[] | undefined,
): void {
  names?.forEach((name, index) => {
    if (!headerName.test(name)) {
      report(
        [...at, index],
        'invalid-value',
        `${JSON.stringify(name)} is not a valid header name`,
        'use letters, digits and "-"',
      );
    }
  });
}

function checkCondition(report: Report, at: readonly PathSegment[], when: SwitchCondition): void {
  const source = sources.filter((s) => when[s] !== undefined);
  const ops = operators.filter((o) => when[o] !== undefined);
  if (source.length !== 1) {
    report(
      at,
      'invalid-value',
      `needs exactly one of header, query or body; has ${source.length === 0 ? 'none' : source.join(' and ')}`,
      'for example { header: x-tier, equals: gold }',
    );
  }
  if (ops.length !== 1) {
    report(
      at,
      'invalid-value',
      `needs exactly one of ${operators.join(', ')}; has ${ops.length === 0 ? 'none' : ops.join(' and ')}`,
      'for example { header: x-tier, equals: gold }',
    );
  }
  const [op] = ops;
  if (op !== undefined && numericOperators.has(op) && when.body === undefined) {
    report(
      [...at, op],
      'invalid-value',
      `${op} compares numbers, which only the body has`,
      'use equals, in, prefix, regex or present on headers and query parameters',
    );
  }
  if (when.header !== undefined && !headerName.test(when.header)) {
    report(
      [...at, 'header'],
      'invalid-value',
      `${JSON.stringify(when.header)} is not a valid header name`,
    );
  }
  if (when.regex !== undefined) {
    try {
      new RegExp(when.regex);
    } catch (error) {
      report(
        [...at, 'regex'],
        'invalid-value',
        `not a valid regular expression: ${(error as Error).message}`,
        'Envoy uses RE2 syntax',
      );
    }
  }
}

function checkNode(report: Report, name: string, node: NodeSpec): void {
  const at: PathSegment[] = ['spec', 'nodes', name];
  const timeoutMs = checkDuration(report, [...at, 'timeout'], node.timeout);
  checkRetries(report, at, node.retries, timeoutMs);
  checkHeaderNames(report, [...at, 'propagateHeaders'], node.propagateHeaders);
  if ('endpoint' in node) {
    checkEndpoint(report, at, node.endpoint);
    checkDuration(report, [...at, 'outlierDetection', 'interval'], node.outlierDetection?.interval);
    checkDuration(
      report,
      [...at, 'outlierDetection', 'baseEjectionTime'],
      node.outlierDetection?.baseEjectionTime,
    );
  }
  switch (node.kind) {
    case 'splitter':
      if (node.routes.every((route) => route.weight === 0)) {
        report(
          [...at, 'routes'],
          'invalid-weights',
          'all weights are 0, so no route could ever be taken',
          'give at least one route a weight > 0',
        );
      }
      if (node.stickyHeader !== undefined && !headerName.test(node.stickyHeader)) {
        report(
          [...at, 'stickyHeader'],
          'invalid-value',
          `${JSON.stringify(node.stickyHeader)} is not a valid header name`,
        );
      }
      return;
    case 'switch':
      node.cases.forEach((c, index) => {
        checkCondition(report, [...at, 'cases', index, 'when'], c.when);
      });
      return;
    case 'sequence': {
      if (node.stopWhen) checkCondition(report, [...at, 'stopWhen'], node.stopWhen);
      const earlier: string[] = [];
      node.steps.forEach((step, index) => {
        const input = step.input;
        if (
          input !== undefined &&
          input !== 'request' &&
          input !== 'previous' &&
          !earlier.includes(input)
        ) {
          report(
            [...at, 'steps', index, 'input'],
            'dangling-reference',
            `${JSON.stringify(input)} is not an earlier step of this sequence`,
            `use "request", "previous"${earlier.length > 0 ? ` or one of ${earlier.join(', ')}` : ''}`,
          );
        }
        earlier.push(step.node);
      });
      return;
    }
    case 'ensemble':
      if ((node.combine === undefined) === (node.combiner === undefined)) {
        report(
          at,
          'invalid-value',
          'an ensemble needs exactly one of combine (built-in) or combiner (a combiner node)',
          'for example combine: mean',
        );
      }
      return;
    case 'mirror':
      if (
        node.percent !== undefined &&
        Math.abs(node.percent * 100 - Math.round(node.percent * 100)) > 1e-9
      ) {
        report(
          [...at, 'percent'],
          'invalid-value',
          `${String(node.percent)} has more precision than Envoy mirrors with`,
          'use at most two decimals, e.g. 12.5 or 0.25',
        );
      }
      return;
    case 'model':
    case 'transformer':
    case 'output-transformer':
    case 'router':
    case 'combiner':
    case 'graph':
      return;
  }
}

export function semanticDiagnostics(source: string, document: ValidatedDocument): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const report: Report = (path, code, message, hint) => {
    diagnostics.push({
      code,
      source,
      path: formatPath(path),
      message,
      ...(hint !== undefined && { hint }),
    });
  };
  const spec = document.spec;
  if (spec.host !== undefined && !hostPattern.test(spec.host.toLowerCase())) {
    report(
      ['spec', 'host'],
      'invalid-address',
      `${JSON.stringify(spec.host)} is not a host name`,
      'use "*", a DNS name, or "*.example.com"',
    );
  }
  checkDuration(report, ['spec', 'timeout'], spec.timeout);
  checkHeaderNames(report, ['spec', 'propagateHeaders'], spec.propagateHeaders);
  for (const [name, node] of document.nodes) checkNode(report, name, node);
  return diagnostics;
}
