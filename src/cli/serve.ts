import { startControlPlane, type ControlPlaneOptions } from '../controller/control-plane.ts';
import { startStatusServer } from '../controller/status-server.ts';
import { log } from '../runtime/log.ts';
import { untilSignal } from '../runtime/until-signal.ts';

/** Runs until SIGINT/SIGTERM, then stops the xDS server cleanly. */
export async function serveCommand(
  options: ControlPlaneOptions,
  statusAddress: { host: string; port: number },
): Promise<void> {
  const controlPlane = await startControlPlane(options);
  const status = await startStatusServer(controlPlane.status, statusAddress);
  log(`status on http://${statusAddress.host}:${String(status.port)}/status`);
  log(
    `xDS (ADS) listening on ${options.xdsHost}:${String(controlPlane.xdsPort)}, watching ${options.graphsDir}`,
  );
  await untilSignal();
  await status.stop();
  await controlPlane.stop();
}
