import { parseJsonPath } from './json-path.ts';
import type { Diagnostic } from './diagnostic.ts';
import { parseEndpointUrl, parseHostPort } from './address.ts';
import { parseDuration } from './duration.ts';
import { formatPath, type PathSegment } from './paths.ts';
import type { Endpoint, NodeSpec, Retries, SwitchCondition } from './schema.ts';
import type { ValidatedDocument } from './validate.ts';

type Report = (
  path: readonly PathSegment[],
  code: Diagnostic['code'],
  message: string,
  hint?: string,
) => void;

/** "*", a DNS name, or "*." and a DNS name: what an Envoy virtual host domain can match on. */
const hostPattern =
  /^(\*|(\*\.)?(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*)$/;
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
  timeout: { text: string; ms: number } | undefined,
): void {
  if (!retries) return;
  const perTry = checkDuration(report, [...at, 'retries', 'perTryTimeout'], retries.perTryTimeout);
  if (perTry !== undefined && timeout !== undefined && perTry > timeout.ms) {
    report(
      [...at, 'retries', 'perTryTimeout'],
      'invalid-value',
      `perTryTimeout (${String(retries.perTryTimeout)}) must not exceed the node's timeout (${timeout.text})`,
      'a single try cannot outlast the whole step: lower perTryTimeout or raise timeout',
    );
  }
}

function checkHeaderName(report: Report, path: readonly PathSegment[], name: string): void {
  if (!headerName.test(name)) {
    report(
      path,
      'invalid-value',
      `${JSON.stringify(name)} is not a valid header name`,
      'header names are letters, digits and "-" (an HTTP token), e.g. x-user-id',
    );
  }
}

function checkHeaderNames(
  report: Report,
  at: readonly PathSegment[],
  names: readonly string[] | undefined,
): void {
  names?.forEach((name, index) => {
    checkHeaderName(report, [...at, index], name);
  });
}

/**
 * Checks a pattern with JavaScript's compiler, which differs from Envoy's RE2:
 * RE2's named groups "(?P<x>" and flag groups "(?i)" are rewritten to what
 * JavaScript reads, and lookaround and backreferences, which only JavaScript
 * has, are looked for explicitly, as Envoy would reject them.
 */
function regexProblem(pattern: string): string | undefined {
  const asJavaScript = pattern
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:');
  try {
    new RegExp(asJavaScript);
  } catch (error) {
    return (error as Error).message.replace(/^Invalid regular expression: /, '');
  }
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || next === 'k'))
        return 'backreferences are not supported';
      i++;
    } else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (!inClass && c === '(' && /^\?<?[=!]/.test(pattern.slice(i + 1))) {
      return 'lookahead and lookbehind are not supported';
    }
  }
  return undefined;
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
  if (when.header !== undefined) checkHeaderName(report, [...at, 'header'], when.header);
  if (when.body !== undefined && parseJsonPath(when.body) === undefined) {
    report(
      [...at, 'body'],
      'invalid-value',
      `${JSON.stringify(when.body)} is not a JSON path Switchyard understands`,
      `write "$" then .name, ['name'] or [index] steps, e.g. "$.inputs[0].data[0]"`,
    );
  }
  if (when.regex !== undefined) {
    const problem = regexProblem(when.regex);
    if (problem !== undefined) {
      report(
        [...at, 'regex'],
        'invalid-value',
        `not a valid regular expression: ${problem}`,
        'Envoy uses RE2 syntax: no lookaround, no backreferences',
      );
    }
  }
}

function checkNode(report: Report, name: string, node: NodeSpec): void {
  const at: PathSegment[] = ['spec', 'nodes', name];
  const timeoutMs = checkDuration(report, [...at, 'timeout'], node.timeout);
  const timeout =
    node.timeout === undefined || timeoutMs === undefined
      ? undefined
      : { text: node.timeout, ms: timeoutMs };
  checkRetries(report, at, node.retries, timeout);
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
      if (node.stickyHeader !== undefined) {
        checkHeaderName(report, [...at, 'stickyHeader'], node.stickyHeader);
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
            earlier.length === 0
              ? 'use "request" or "previous"'
              : `use "request", "previous" or one of ${earlier.join(', ')}`,
          );
        }
        earlier.push(step.node);
      });
      return;
    }
    case 'ensemble':
      if (node.combine === undefined && node.combiner === undefined) {
        report(
          at,
          'missing-field',
          'an ensemble needs combine (a built-in) or combiner (a combiner node)',
          'for example combine: mean',
        );
      } else if (node.combine !== undefined && node.combiner !== undefined) {
        report(
          [...at, 'combiner'],
          'invalid-value',
          'give combine (a built-in) or combiner (a combiner node), not both',
          'remove one of them',
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

/**
 * Rules a JSON schema cannot say: one-of-these fields, values that must
 * parse, numbers that relate to each other. Runs on nodes that passed the
 * schema, so every field has its declared type here.
 */
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
  const spec = document.settings;
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
