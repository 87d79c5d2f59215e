import { compileCel } from './cel.ts';
import { parseJsonPath } from './json-path.ts';
import type { Diagnostic } from './diagnostic.ts';
import { parseEndpointUrl, parseHostPort } from './address.ts';
import { parseDuration } from './duration.ts';
import { inListRegex } from './in-regex.ts';
import { MAX_DURATION_MS, MAX_QUERY_NAME_BYTES, UINT32_MAX } from './limits.ts';
import { formatPath, type PathSegment } from './paths.ts';
import type {
  Endpoint,
  NodeSpec,
  PayloadLog,
  Protocol,
  Retries,
  SwitchCondition,
} from './schema.ts';
import { MAX_REGEX_PROGRAM_SIZE, regexProgramSize } from './regex-program-size.ts';
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
  if (ms > MAX_DURATION_MS) {
    report(
      path,
      'invalid-duration',
      `${JSON.stringify(text)} is longer than Envoy takes: at most "${String(MAX_DURATION_MS / 1000)}s" (about 292 years)`,
      'Envoy counts a duration in 64-bit milliseconds and refuses a longer one ("Duration out-of-range")',
    );
    return undefined;
  }
  return ms;
}

function checkEndpoint(report: Report, at: readonly PathSegment[], endpoint: Endpoint): void {
  const given = [
    endpoint.addresses && 'addresses',
    endpoint.url !== undefined && 'url',
    endpoint.service && 'service',
  ].filter((field): field is string => typeof field === 'string');
  if (given.length !== 1) {
    report(
      [...at, 'endpoint'],
      given.length === 0 ? 'missing-field' : 'invalid-value',
      given.length === 0 ? 'needs addresses, url or service' : `has both ${given.join(' and ')}`,
      'give one of addresses: ["host:port", ...], url: http://host:port or service: { name, port }',
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
 * Why JavaScript, which runs the switches the executor tests, cannot compile
 * a pattern RE2 accepted: RE2's named groups "(?P<x>" and flag groups "(?i)"
 * are first rewritten to what JavaScript reads.
 */
function javascriptProblem(pattern: string): string | undefined {
  const asJavaScript = pattern
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:');
  try {
    new RegExp(asJavaScript, 'u');
  } catch (error) {
    return (error as Error).message.replace(/^Invalid regular expression: /, '');
  }
  return undefined;
}

/**
 * A regex as Envoy compiles it (RE2, its program size limit) and, for the
 * switches the executor runs, as JavaScript compiles it. `inEnvoy` is false
 * for conditions only the executor ever tests.
 */
function checkRegex(
  report: Report,
  path: readonly PathSegment[],
  pattern: string,
  inEnvoy: boolean,
  fromInList = false,
): void {
  const compiled = regexProgramSize(pattern);
  if ('error' in compiled) {
    report(
      path,
      'invalid-value',
      `not a valid RE2 regular expression: ${compiled.error}`,
      'Envoy uses RE2 syntax: no lookaround, no backreferences',
    );
    return;
  }
  const problem = fromInList ? undefined : javascriptProblem(pattern);
  if (problem !== undefined) {
    report(
      path,
      'invalid-value',
      `RE2 reads this regex, but the executor (JavaScript) cannot: ${problem}`,
      'write it in the syntax both read: RE2, and JavaScript with the u flag (\\p{L}, not \\pL)',
    );
    return;
  }
  if (inEnvoy && compiled.size > MAX_REGEX_PROGRAM_SIZE) {
    report(
      path,
      'limit-exceeded',
      fromInList
        ? `Envoy matches this list as one regex, of RE2 program size ${String(compiled.size)}; it refuses more than ${String(MAX_REGEX_PROGRAM_SIZE)}`
        : `this regex compiles to an RE2 program of size ${String(compiled.size)}; Envoy refuses more than ${String(MAX_REGEX_PROGRAM_SIZE)}`,
      fromInList
        ? 'shorten the list, or split it over several cases that lead to the same node'
        : `every character and each repetition of a bounded repeat costs about one: prefer "+" or "*" to a large {n}, a prefix match to a long literal, or split the case in two (Envoy's runtime re2.max_program_size.error_level sets the limit)`,
    );
  }
}

/** Characters that read the same in Envoy, which matches a header's bytes, and in the executor. */
const headerValueText = /^[\x20-\x7E]*$/;
/**
 * Characters a query string carries unencoded: Envoy compares names and
 * values as sent, the executor after decoding "%xx" and "+".
 */
const queryText = /^[-A-Za-z0-9._~!$'()*,;:@/?[\]]*$/;

function checkMatchValues(
  report: Report,
  at: readonly PathSegment[],
  when: SwitchCondition,
  source: 'header' | 'query',
): void {
  const values: [PathSegment[], string][] = [];
  // A number or boolean is matched as its text: 1e21 as "1e+21".
  if (when.equals !== undefined) values.push([[...at, 'equals'], String(when.equals)]);
  if (when.prefix !== undefined) values.push([[...at, 'prefix'], when.prefix]);
  when.in?.forEach((v, index) => {
    values.push([[...at, 'in', index], String(v)]);
  });
  if (when.regex !== undefined) values.push([[...at, 'regex'], when.regex]);
  for (const [path, value] of values) {
    if (!headerValueText.test(value)) {
      report(
        path,
        'invalid-value',
        `${JSON.stringify(value)} holds characters other than visible ASCII and spaces, which Envoy and the executor would read differently in a ${source}`,
        source === 'header'
          ? 'Envoy compares header bytes, the executor decoded text: match on ASCII only'
          : 'a query string carries other characters percent-encoded: match on ASCII only',
      );
    } else if (source === 'query' && path.at(-1) !== 'regex' && !queryText.test(value)) {
      report(
        path,
        'invalid-value',
        `${JSON.stringify(value)} would not match the same requests in Envoy and the executor: Envoy compares the query string as sent, the executor after decoding "%xx" and "+"`,
        `use only characters a query string carries unencoded: letters, digits and -._~!$'()*,;:@/?[]`,
      );
    }
  }
}

function checkCondition(
  report: Report,
  at: readonly PathSegment[],
  when: SwitchCondition,
  inEnvoy: boolean,
): void {
  const source = sources.filter((s) => when[s] !== undefined);
  const ops = operators.filter((o) => when[o] !== undefined);
  if (when.cel !== undefined) {
    if (source.length > 0 || ops.length > 0) {
      report(
        at,
        'invalid-value',
        `cel stands alone; this condition also has ${[...source, ...ops].join(' and ')}`,
        'write the whole test in CEL, e.g. { cel: \'headers["x-tier"] == "gold" && body.score > 0.5\' }',
      );
    }
    const compiled = compileCel(when.cel);
    if ('error' in compiled) {
      report(
        [...at, 'cel'],
        'invalid-value',
        `not a valid CEL condition: ${compiled.error}`,
        'variables: body (the payload as JSON), headers and query (maps of strings); the expression must be a bool',
      );
    }
    return;
  }
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
  if (when.header !== undefined) {
    checkHeaderName(report, [...at, 'header'], when.header);
    checkMatchValues(report, at, when, 'header');
  }
  if (when.query !== undefined) {
    if (!queryText.test(when.query) || when.query.length > MAX_QUERY_NAME_BYTES) {
      report(
        [...at, 'query'],
        'invalid-value',
        `${JSON.stringify(when.query)} is not a query parameter name Envoy and the executor read alike`,
        `use at most ${String(MAX_QUERY_NAME_BYTES)} of the characters a query string carries unencoded: letters, digits and -._~!$'()*,;:@/?[]`,
      );
    }
    checkMatchValues(report, at, when, 'query');
  }
  if (when.body !== undefined && parseJsonPath(when.body) === undefined) {
    report(
      [...at, 'body'],
      'invalid-value',
      `${JSON.stringify(when.body)} is not a JSON path Switchyard understands`,
      `write "$" then .name, ['name'] or [index] steps, e.g. "$.inputs[0].data[0]"`,
    );
  }
  if (when.regex !== undefined) checkRegex(report, [...at, 'regex'], when.regex, inEnvoy);
  // Envoy tests a header or query `in` list as one regex; a body's as a list of values.
  if (when.in !== undefined && when.body === undefined) {
    checkRegex(report, [...at, 'in'], inListRegex(when.in), inEnvoy, true);
  }
}

/** Fields that only mean something to a V2 node: refused elsewhere rather than ignored. */
function checkV2Fields(
  report: Report,
  at: readonly PathSegment[],
  node: NodeSpec,
  graphProtocol: Protocol,
): void {
  if (!('endpoint' in node)) return;
  const protocol = node.protocol ?? graphProtocol;
  if (protocol === 'v2') return;
  if (node.binaryTensors !== undefined) {
    report(
      [...at, 'binaryTensors'],
      'invalid-value',
      `binaryTensors is for V2 nodes, and this node speaks ${protocol}`,
      'remove it: only the Open Inference Protocol (V2) has binary tensors',
    );
  }
  if (node.kind === 'combiner' && node.combinerInput === 'inference-request') {
    report(
      [...at, 'combinerInput'],
      'invalid-value',
      `an inference request is a V2 request, and this combiner speaks ${protocol}`,
      'give the combiner protocol: v2, or use combinerInput: responses',
    );
  }
}

function checkNode(report: Report, name: string, node: NodeSpec, graphProtocol: Protocol): void {
  const at: PathSegment[] = ['spec', 'nodes', name];
  checkV2Fields(report, at, node, graphProtocol);
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
      {
        const total = node.routes.reduce((sum, route) => sum + route.weight, 0);
        if (total > UINT32_MAX) {
          report(
            [...at, 'routes'],
            'invalid-weights',
            `the weights sum to ${String(total)}; Envoy takes at most ${String(UINT32_MAX)} in total`,
            'weights are relative: divide them all by the same number',
          );
        }
      }
      if (node.stickyHeader !== undefined) {
        checkHeaderName(report, [...at, 'stickyHeader'], node.stickyHeader);
      }
      return;
    case 'switch':
      node.cases.forEach((c, index) => {
        checkCondition(report, [...at, 'cases', index, 'when'], c.when, true);
      });
      return;
    case 'sequence': {
      // Only the executor tests when a sequence stops.
      if (node.stopWhen) checkCondition(report, [...at, 'stopWhen'], node.stopWhen, false);
      const earlier: string[] = [];
      node.steps.forEach((step, index) => {
        if (step.when !== undefined) {
          if (index === 0) {
            report(
              [...at, 'steps', 0, 'when'],
              'invalid-value',
              "the first step has no previous step's answer to test",
              'test the request with a switch before the sequence instead',
            );
          } else {
            checkCondition(report, [...at, 'steps', index, 'when'], step.when, false);
          }
        }
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

/** Exactly one sink; a URL the executor can POST to; a file path that does not hang on the working directory. */
function checkPayloadLog(report: Report, payloadLog: PayloadLog | undefined): void {
  if (payloadLog === undefined) return;
  const at = ['spec', 'payloadLog', 'sink'];
  const { url, file } = payloadLog.sink;
  if ((url === undefined) === (file === undefined)) {
    report(
      at,
      url === undefined ? 'missing-field' : 'invalid-value',
      url === undefined ? 'needs url or file' : 'has both url and file',
      'give one of url: http://collector:8080/ or file: /var/log/switchyard/payloads.jsonl',
    );
  }
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
      report(
        [...at, 'url'],
        'invalid-address',
        `${JSON.stringify(url)} is not an http:// or https:// URL`,
        'for example http://payload-logger.monitoring:8080/',
      );
    }
  }
  if (file !== undefined && !file.startsWith('/')) {
    report(
      [...at, 'file'],
      'invalid-value',
      `${JSON.stringify(file)} is not an absolute path`,
      "a relative path would depend on the executor's working directory: start it with /",
    );
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
  checkPayloadLog(report, spec.payloadLog);
  for (const [name, node] of document.nodes) {
    checkNode(report, name, node, spec.protocol ?? 'v2');
  }
  return diagnostics;
}
