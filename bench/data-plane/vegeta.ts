import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** vegeta, the open-loop HTTP load generator, pinned and built from the Go module proxy. */
const VEGETA_MODULE = 'github.com/tsenart/vegeta/v12';
const VEGETA_VERSION = 'v12.13.0';

const binDir = join(import.meta.dirname, '..', '..', '.cache', 'bin');

export async function vegetaPath(): Promise<string> {
  const path = join(binDir, 'vegeta');
  if (existsSync(path)) return path;
  mkdirSync(binDir, { recursive: true });
  process.stdout.write(`installing vegeta ${VEGETA_VERSION} with go install (once)...\n`);
  try {
    await run('go', ['install', `${VEGETA_MODULE}@${VEGETA_VERSION}`], {
      env: { ...process.env, GOBIN: binDir },
    });
  } catch (error) {
    throw new Error(
      `could not build vegeta (needs Go and the Go module proxy): ${String(error)}\n` +
        `or put a vegeta binary at ${path}`,
    );
  }
  return path;
}

export interface Attack {
  /** Where to send; several are taken in turn. */
  readonly url: string | readonly string[];
  /** Requests per second (open loop), or 0 for as many as `workers` can send (closed loop). */
  readonly rate: number;
  readonly workers?: number;
  readonly durationSeconds: number;
  /** Headers besides the JSON content type. */
  readonly headers?: Readonly<Record<string, string>>;
  /** HTTP/2 without TLS, as Envoy talks to the executor. */
  readonly h2c?: boolean;
}

export interface AttackReport {
  readonly requests: number;
  readonly throughput: number;
  readonly success: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly errors: readonly string[];
}

interface VegetaJson {
  requests: number;
  throughput: number;
  success: number;
  latencies: Record<string, number>;
  errors: string[] | null;
}

/** One attack; the body is sent from a file so that vegeta reads it once. */
export async function attack(
  vegeta: string,
  bodyFile: string,
  spec: Attack,
): Promise<AttackReport> {
  const rate = spec.rate > 0 ? `${String(spec.rate)}/s` : '0';
  const workers = spec.workers ?? 16;
  const args = [
    'attack',
    `-rate=${rate}`,
    `-duration=${String(spec.durationSeconds)}s`,
    `-body=${bodyFile}`,
    '-header=Content-Type: application/json',
    ...Object.entries(spec.headers ?? {}).map(([name, value]) => `-header=${name}: ${value}`),
    ...(spec.h2c === true ? ['-h2c'] : []),
    '-keepalive=true',
    `-workers=${String(workers)}`,
    ...(spec.rate > 0 ? [] : [`-max-workers=${String(workers)}`]),
    '-timeout=10s',
  ];
  const attacker = spawn(vegeta, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const urls = typeof spec.url === 'string' ? [spec.url] : spec.url;
  attacker.stdin.end(urls.map((url) => `POST ${url}\n`).join('\n'));
  const reporter = spawn(vegeta, ['report', '-type=json'], { stdio: ['pipe', 'pipe', 'inherit'] });
  attacker.stdout.pipe(reporter.stdin);
  let text = '';
  reporter.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  // 'close', not 'exit': the report may still be in the pipe when the process exits.
  await new Promise((resolve) => reporter.once('close', resolve));
  if (text === '') throw new Error(`vegeta report printed nothing for ${urls.join(', ')}`);
  const report = JSON.parse(text) as VegetaJson;
  const ms = (key: string) => (report.latencies[key] ?? 0) / 1e6;
  return {
    requests: report.requests,
    throughput: report.throughput,
    success: report.success,
    p50Ms: ms('50th'),
    p90Ms: ms('90th'),
    p99Ms: ms('99th'),
    errors: report.errors ?? [],
  };
}
