import { post, type Reply } from './http.ts';

export interface LoadResult {
  /** Index into the targets. */
  readonly target: number;
  /** Milliseconds since the load started, when the request left. */
  readonly at: number;
  readonly reply?: Reply;
  readonly error?: string;
}

export interface SteadyLoad {
  /** Requests sent so far. */
  readonly sent: () => number;
  /** Stops sending, waits for the requests in flight, and returns every result. */
  stop(): Promise<LoadResult[]>;
}

/**
 * An open loop of `rate` requests a second, the targets in turn: requests
 * leave on schedule whether or not earlier ones returned. It stops by itself
 * after `maxSeconds`.
 */
export function steadyLoad(options: {
  readonly rate: number;
  readonly targets: readonly { readonly url: string; readonly body?: unknown }[];
  readonly maxSeconds: number;
}): SteadyLoad {
  const results: LoadResult[] = [];
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  let sent = 0;
  let inFlight = 0;
  let stopped = false;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const tick = setInterval(() => {
    const now = performance.now();
    if (stopped || now >= deadline) {
      clearInterval(tick);
      stopped = true;
      if (inFlight === 0) finished();
      return;
    }
    const due = Math.floor(((now - started) / 1000) * options.rate) - sent;
    for (let i = 0; i < due; i++) {
      const target = sent % options.targets.length;
      const at = now - started;
      const { url, body } = options.targets[target] ?? { url: '' };
      sent += 1;
      inFlight += 1;
      post(url, body)
        .then((reply) => results.push({ target, at, reply }))
        .catch((error: unknown) => results.push({ target, at, error: String(error) }))
        .finally(() => {
          inFlight -= 1;
          if (stopped && inFlight === 0) finished();
        });
    }
  }, 5);
  return {
    sent: () => sent,
    stop: async () => {
      stopped = true;
      if (inFlight === 0) finished();
      await done;
      clearInterval(tick);
      return results.sort((a, b) => a.at - b.at);
    },
  };
}
