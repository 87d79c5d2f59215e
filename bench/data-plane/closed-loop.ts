/** Closed-loop measuring shared by the executor benchmarks that need no load generator. */

/** Runs `run` `count` times, `concurrency` at a time, each next one as soon as one ends. */
export async function closedLoop(
  run: () => Promise<unknown>,
  count: number,
  concurrency: number,
): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started++ < count) await run();
    }),
  );
}

/**
 * After a warm-up, `requests` runs of `run` closed loop: the CPU µs per
 * request that `cpuSeconds` (a process's CPU time so far) counts, and the
 * requests per second.
 */
export async function measureClosedLoop(
  run: () => Promise<unknown>,
  options: { requests: number; concurrency: number; cpuSeconds: () => number },
): Promise<{ cpu: number; rps: number }> {
  const { requests, concurrency, cpuSeconds } = options;
  await closedLoop(run, Math.min(requests, 5_000), concurrency);
  const cpuBefore = cpuSeconds();
  const started = performance.now();
  await closedLoop(run, requests, concurrency);
  const seconds = (performance.now() - started) / 1000;
  return { cpu: ((cpuSeconds() - cpuBefore) * 1e6) / requests, rps: requests / seconds };
}

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
