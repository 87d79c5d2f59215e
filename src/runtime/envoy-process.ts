import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { resolveEnvoy } from './envoy-binary.ts';

export interface RunningEnvoy {
  readonly version: string;
  /** The Envoy process, e.g. to read its CPU time. */
  readonly pid: number;
  readonly adminUrl: string;
  /**
   * Envoy's config_dump, optionally of one resource kind (e.g.
   * "dynamic_route_configs"); "dynamic_endpoint_configs" includes EDS.
   */
  configDump(resource?: string): Promise<unknown>;
  /** Counters and gauges whose name contains `filter`. */
  stats(filter?: string): Promise<Record<string, number>>;
  /** What Envoy printed so far (its log goes here, not to the terminal). */
  output(): string;
  stop(): Promise<void>;
}

const readyTimeoutMs = 30_000;

async function adminGet(url: string): Promise<{ status: number; text: string }> {
  const response = await request(url);
  return { status: response.statusCode, text: await response.body.text() };
}

function adminPortOf(bootstrap: Record<string, unknown>): number {
  const admin = bootstrap.admin as
    { address?: { socket_address?: { port_value?: number } } } | undefined;
  const port = admin?.address?.socket_address?.port_value;
  if (port === undefined) throw new Error('the bootstrap has no admin port');
  return port;
}

/**
 * Starts a real Envoy on `bootstrap` and waits until its admin interface says
 * it is ready (initial xDS fetch done).
 */
export async function startEnvoyProcess(options: {
  bootstrap: Record<string, unknown>;
  name?: string;
  logLevel?: string;
  /** Worker threads; Envoy's default is one per core. */
  concurrency?: number;
  /** Extensions to run without, as "category/name" (an Envoy built without them). */
  disabledExtensions?: readonly string[];
  /**
   * Wait only for the admin interface to answer, not for Envoy to be ready:
   * for an Envoy that is never to get its configuration.
   */
  untilAdmin?: boolean;
}): Promise<RunningEnvoy> {
  const binary = await resolveEnvoy();
  const dir = mkdtempSync(join(tmpdir(), `switchyard-envoy-${options.name ?? 'x'}-`));
  const configPath = join(dir, 'bootstrap.json');
  writeFileSync(configPath, JSON.stringify(options.bootstrap));
  const child = spawn(
    binary.path,
    [
      '-c',
      configPath,
      '--log-level',
      options.logLevel ?? 'warn',
      '--use-dynamic-base-id',
      '--disable-hot-restart',
      ...(options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)]),
      ...(options.disabledExtensions && options.disabledExtensions.length > 0
        ? ['--disable-extensions', options.disabledExtensions.join(',')]
        : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const adminUrl = `http://127.0.0.1:${String(adminPortOf(options.bootstrap))}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`Envoy exited with code ${String(child.exitCode)}:\n${output.slice(-4000)}`);
    }
    try {
      const ready = await adminGet(`${adminUrl}/ready`);
      if (ready.status === 200 || options.untilAdmin === true) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() - started > readyTimeoutMs) {
      await stop();
      throw new Error(
        `Envoy was not ready after ${String(readyTimeoutMs)} ms:\n${output.slice(-4000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    version: binary.version,
    pid: child.pid ?? 0,
    adminUrl,
    configDump: async (resource) => {
      const eds = resource === 'dynamic_endpoint_configs' ? '&include_eds' : '';
      const query = resource === undefined ? '' : `?resource=${resource}${eds}`;
      return JSON.parse((await adminGet(`${adminUrl}/config_dump${query}`)).text) as unknown;
    },
    stats: async (filter) => {
      const query = filter === undefined ? '' : `&filter=${encodeURIComponent(filter)}`;
      const parsed = JSON.parse((await adminGet(`${adminUrl}/stats?format=json${query}`)).text) as {
        stats: { name?: string; value?: number }[];
      };
      return Object.fromEntries(
        parsed.stats
          .filter((s) => s.name !== undefined && typeof s.value === 'number')
          .map((s) => [s.name, s.value]),
      ) as Record<string, number>;
    },
    output: () => output,
    stop,
  };
}
