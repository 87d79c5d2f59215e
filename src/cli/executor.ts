import { startExecutor } from '../extproc/server.ts';
import { envoyProtos } from '../protos/envoy-protos.ts';
import { log } from './output.ts';

/** `switchyard executor`: serves ext_proc until SIGINT/SIGTERM. */
export async function executorCommand(options: {
  address: string;
  port: number;
  hopUrl: string;
}): Promise<void> {
  const executor = await startExecutor(envoyProtos(), {
    host: options.address,
    port: options.port,
    hopUrl: options.hopUrl,
    log,
  });
  log(
    `executor (ext_proc) on ${options.address}:${String(executor.port)}, calling nodes through ${options.hopUrl}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await executor.stop();
}
