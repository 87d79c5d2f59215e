import { Agent, request } from 'undici';

/** One pooled agent for every test request: the tests measure Envoy, not connection setup. */
const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: unknown;
}

export const v2Payload = {
  inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }],
};

export async function post(
  url: string,
  body: unknown = v2Payload,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await request(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
    dispatcher: agent,
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

/** Runs `task` `count` times with at most `concurrency` in flight. */
export async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Polls `probe` until it returns true, at most `timeoutMs`; returns the elapsed time. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until each of `urls` answers `body` with a 200 (as Envoy comes to route them). */
export async function waitForAnswers(
  urls: readonly string[],
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  await waitFor(`${urls.join(', ')} to answer`, async () => {
    try {
      for (const url of urls) if ((await post(url, body, headers)).status !== 200) return false;
      return true;
    } catch {
      return false;
    }
  });
}

export function modelVersion(reply: Reply): string | undefined {
  return (reply.json as { model_version?: string } | undefined)?.model_version;
}
