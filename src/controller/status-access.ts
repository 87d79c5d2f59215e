import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Whether `host` is an address only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/** How the status endpoint is guarded, as given on the command line. */
export interface StatusGuard {
  readonly host: string;
  readonly tokenFile?: string;
  readonly clientCa?: string;
  /** The operator's explicit choice of an open endpoint beyond loopback. */
  readonly insecure: boolean;
}

/**
 * Why the status endpoint may not start as asked: beyond loopback it names
 * every Envoy and graph to whoever reaches it, so it needs a bearer token or
 * client certificates, or an explicit --insecure-status.
 */
export function statusGuardProblem(guard: StatusGuard): string | undefined {
  if (isLoopbackHost(guard.host)) return undefined;
  if (guard.tokenFile !== undefined || guard.clientCa !== undefined || guard.insecure) {
    return undefined;
  }
  return `the status endpoint on ${guard.host} would be open to anyone who reaches it: give --status-token-file (a bearer token) or --status-client-ca with --status-tls-cert/--status-tls-key (client certificates), bind it to loopback with --status-address 127.0.0.1, or accept an open endpoint with --insecure-status`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Whether an Authorization header carries `token` as a bearer token,
 * compared in constant time: digests of equal length, so neither the
 * token's characters nor its length show in the time an answer takes.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  const given = match?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given !== '';
}
