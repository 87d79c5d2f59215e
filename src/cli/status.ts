import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { renderStatus, type ControlPlaneStatus } from '../controller/status.ts';

export interface StatusCommandOptions {
  /** The control plane's status endpoint, http:// or https://. */
  readonly url: string;
  readonly json: boolean;
  /** A file holding the bearer token the endpoint needs. */
  readonly tokenFile?: string;
  /** For https://: the CA bundle to trust, and a client certificate and key to present. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

function read(file: string | undefined): Buffer | undefined {
  return file === undefined ? undefined : readFileSync(file);
}

/** `switchyard status`: what the control plane at `url` knows, as a table. */
export async function statusCommand(options: StatusCommandOptions): Promise<number> {
  const url = options.url.replace(/\/$/, '');
  let status: ControlPlaneStatus;
  try {
    const token = read(options.tokenFile)?.toString('utf8').trim();
    const [ca, cert, key] = [read(options.ca), read(options.cert), read(options.key)];
    const dispatcher = new Agent({
      connect: { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) },
    });
    try {
      const response = await request(`${url}/status`, {
        dispatcher,
        ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
      });
      const body = await response.body.json();
      if (response.statusCode !== 200) {
        const reason = (body as { error?: { reason?: string } }).error?.reason;
        process.stderr.write(
          `the control plane's status endpoint at ${options.url} answered ${String(response.statusCode)}: ${reason ?? 'no reason given'}\n`,
        );
        return 1;
      }
      status = body as ControlPlaneStatus;
    } finally {
      await dispatcher.close();
    }
  } catch (error) {
    process.stderr.write(
      `cannot reach the control plane's status endpoint at ${options.url}: ${(error as Error).message}\n` +
        '    hint: is `switchyard serve` running? It serves status on 127.0.0.1:18001 unless --status-port says otherwise\n',
    );
    return 1;
  }
  process.stdout.write(
    options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status),
  );
  return 0;
}
