import type { HopsMode } from '../spec/schema.ts';

/**
 * What the translator needs to know of the data plane it configures, set
 * once per control plane (command-line flags), and the route metadata
 * namespace every part of the translation names graphs and nodes in.
 */
export interface ListenerOptions {
  /** Address the graphs are served on; loopback by default, like every Switchyard listener. */
  readonly address: string;
  readonly port: number;
  /** Port of the hop listener, through which the executor calls nodes. */
  readonly hopPort: number;
  /**
   * Address of the hop listener: loopback unless the executor runs in other pods (a
   * Deployment of its own), which must reach it through a Service.
   */
  readonly hopAddress?: string;
  /** Where the executor listens: `workers` processes on consecutive ports from `port`. */
  readonly executor: {
    readonly address: string;
    readonly port: number;
    readonly workers: number;
    /**
     * Envoy reaches the executor over TLS: its certificate must come from
     * `ca` (a PEM bundle) and name `serverName` (DNS or IP) in a subjectAltName.
     */
    readonly tls?: { readonly ca: string; readonly serverName: string };
  };
  /**
   * A directory Envoy and the executor share: the hop listener and the
   * executor's workers are then Unix sockets in it (sockets.ts), and
   * `hopPort` and the executor's address and port are not used.
   */
  readonly sockets?: string;
  /** How the executor calls the nodes of graphs that do not say (spec.hops); "envoy" if unset. */
  readonly hops?: HopsMode;
  /**
   * An OpenTelemetry Collector's OTLP/HTTP receiver (e.g. http://127.0.0.1:4318):
   * Envoy then traces every request of both listeners and sends its spans there.
   */
  readonly otlp?: OtlpEndpoint;
}

export interface OtlpEndpoint {
  readonly host: string;
  readonly port: number;
  /** Where spans are posted: the receiver's /v1/traces. */
  readonly tracesUrl: string;
}

/** The endpoint of an OTLP/HTTP base URL; undefined if it is not an http(s) URL with a host. */
export function otlpEndpoint(baseUrl: string): OtlpEndpoint | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || url.hostname === '') return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 80 : Number(url.port);
  return { host, port, tracesUrl: `${url.origin}${url.pathname.replace(/\/$/, '')}/v1/traces` };
}

/** Route metadata namespace: every route names its graph and node, so errors can. */
export const METADATA_NAMESPACE = 'switchyard';
