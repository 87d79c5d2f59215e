import type http2 from 'node:http2';
import { PLAN_HEADER } from '../../src/plan/execution.ts';

/** One request to the executor as Envoy's upstream route sends it (HTTP/2, the plan in its header); rejects unless 200. */
export function executorRequest(
  session: http2.ClientHttp2Session,
  path: string,
  plan: string,
  body: Buffer,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/json',
      [PLAN_HEADER]: plan,
    });
    let status = 0;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', () => undefined);
    stream.on('end', () => {
      if (status === 200) resolve();
      else reject(new Error(`the executor answered ${String(status)}`));
    });
    stream.on('error', reject);
    stream.end(body);
  });
}
