import { startControlPlane, type ControlPlaneOptions } from '../controller/control-plane.ts';
import { isLoopbackHost } from '../controller/status-access.ts';
import { statusPageRoutes } from '../controller/status-page.ts';
import { startStatusServer, type StatusSecurity } from '../controller/status-server.ts';
import { log } from '../runtime/log.ts';
import { withProcessMetrics } from '../runtime/process-metrics.ts';
import { untilSignal } from '../runtime/until-signal.ts';

/** Runs until SIGINT/SIGTERM, then stops the xDS server cleanly. */
export async function serveCommand(
  options: ControlPlaneOptions,
  statusAddress: { host: string; port: number },
  statusSecurity: StatusSecurity,
): Promise<void> {
  if (!isLoopbackHost(options.xdsHost) && options.xdsTls?.clientCa === undefined) {
    log(
      `warning: xDS listens on ${options.xdsHost} without mutual TLS: any Envoy that reaches it gets the graphs of the group it claims (give --xds-tls-cert, --xds-tls-key and --xds-client-ca)`,
    );
  }
  if (
    statusSecurity.tokenFile !== undefined &&
    !statusSecurity.tls &&
    !isLoopbackHost(statusAddress.host)
  ) {
    log(
      'warning: the status bearer token crosses the network in the clear: give --status-tls-cert and --status-tls-key',
    );
  }
  const controlPlane = await startControlPlane(options);
  const registry = withProcessMetrics(controlPlane.metrics.registry);
  const status = await startStatusServer(
    controlPlane.status,
    statusAddress,
    { ...statusSecurity, log },
    new Map([
      ...statusPageRoutes(controlPlane),
      ['/metrics', { contentType: registry.contentType, body: () => registry.metrics() }],
    ]),
    controlPlane.ready,
  );
  const scheme = statusSecurity.tls ? 'https' : 'http';
  const guard = [
    statusSecurity.tokenFile !== undefined && 'a bearer token',
    statusSecurity.tls?.clientCa !== undefined && 'a client certificate',
  ].filter(Boolean);
  log(
    `status on ${scheme}://${statusAddress.host}:${String(status.port)}/status and /metrics${guard.length > 0 ? ` (needs ${guard.join(' and ')})` : ''}; /healthz and /readyz open to probes`,
  );
  log(`graphs page on ${scheme}://${statusAddress.host}:${String(status.port)}/ui`);
  const sources = [
    ...(options.graphsDir === undefined ? [] : [options.graphsDir]),
    ...(options.kubernetes ? ['InferenceGraph resources'] : []),
  ];
  const xdsSecurity = options.xdsTls
    ? options.xdsTls.clientCa === undefined
      ? ' over TLS'
      : ' over mutual TLS, groups by client certificate'
    : '';
  log(
    `xDS (ADS) listening on ${options.xdsHost}:${String(controlPlane.xdsPort)}${xdsSecurity}, watching ${sources.join(' and ')}`,
  );
  await untilSignal();
  await status.stop();
  await controlPlane.stop();
}
