import { startControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { log } from './output.ts';

/** Runs until SIGINT/SIGTERM, then stops the xDS server cleanly. */
export async function serveCommand(options: ControlPlaneOptions): Promise<void> {
  const controlPlane = await startControlPlane(options);
  log(
    `xDS (ADS) listening on ${options.xdsHost}:${String(controlPlane.xdsPort)}, watching ${options.graphsDir}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await controlPlane.stop();
}
