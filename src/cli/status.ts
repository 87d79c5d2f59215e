import { request } from 'undici';
import { renderStatus, type ControlPlaneStatus } from '../controller/status.ts';

/** `switchyard status`: what the control plane at `url` knows, as a table. */
export async function statusCommand(url: string, json: boolean): Promise<number> {
  let status: ControlPlaneStatus;
  try {
    const response = await request(`${url.replace(/\/$/, '')}/status`);
    status = (await response.body.json()) as ControlPlaneStatus;
  } catch (error) {
    process.stderr.write(
      `cannot reach the control plane's status endpoint at ${url}: ${(error as Error).message}\n` +
        '    hint: is `switchyard serve` running? It serves status on 127.0.0.1:18001 unless --status-port says otherwise\n',
    );
    return 1;
  }
  process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
  return 0;
}
