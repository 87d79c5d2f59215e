import type { NodeTraffic } from '../picture/traffic.ts';
import type { ClusterCounter } from '../envoy/cluster-stats.ts';

interface Sample {
  readonly at: number;
  readonly requests: number;
  readonly errors: number;
}

/**
 * Counter increments Envoys report per cluster, kept for a short window, so
 * the page shows what happens now rather than since each Envoy started. An
 * increment is kept whole at the time it arrives: Envoy flushes every few
 * seconds, which is the precision of these rates.
 */
export class TrafficWindow {
  readonly #samples = new Map<string, Sample[]>();
  readonly #windowMs: number;
  readonly #now: () => number;
  #since: number | undefined;
  #swept = 0;

  constructor(windowMs = 60_000, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** How many clusters it holds samples of. */
  get clusters(): number {
    return this.#samples.size;
  }

  get windowSeconds(): number {
    return this.#windowMs / 1000;
  }

  /** Adds a counter's increment since the Envoy's last report. */
  record(cluster: string, counter: ClusterCounter, increment: number): void {
    if (!(increment > 0)) return;
    const at = this.#now();
    this.#since ??= at;
    const samples = this.#samples.get(cluster) ?? [];
    samples.push({
      at,
      requests: counter === 'requests' ? increment : 0,
      errors: counter === 'errors' ? increment : 0,
    });
    this.#samples.set(cluster, this.#prune(samples, at));
    // Clusters nobody reads (the page closed, a graph deleted) are forgotten once a window.
    if (at - this.#swept >= this.#windowMs) {
      this.#swept = at;
      for (const [name, kept] of this.#samples) {
        const left = this.#prune(kept, at);
        if (left.length === 0) this.#samples.delete(name);
        else this.#samples.set(name, left);
      }
    }
  }

  #prune(samples: Sample[], now: number): Sample[] {
    const first = samples.findIndex((sample) => sample.at > now - this.#windowMs);
    return first === -1 ? [] : first === 0 ? samples : samples.slice(first);
  }

  /** The cluster's traffic over the window; none if nothing reached it in the window. */
  trafficOf(cluster: string): NodeTraffic | undefined {
    const now = this.#now();
    const samples = this.#prune(this.#samples.get(cluster) ?? [], now);
    if (samples.length === 0) {
      this.#samples.delete(cluster);
      return undefined;
    }
    this.#samples.set(cluster, samples);
    const requests = samples.reduce((sum, sample) => sum + sample.requests, 0);
    const errors = samples.reduce((sum, sample) => sum + sample.errors, 0);
    // Until a whole window has passed since the first report, rates are over the time there was,
    // but never under a second: the first report holds what came before it too.
    const seconds = Math.max(1000, Math.min(this.#windowMs, now - (this.#since ?? now))) / 1000;
    return {
      requests,
      errors,
      requestsPerSecond: requests / seconds,
      errorsPerSecond: errors / seconds,
    };
  }
}
