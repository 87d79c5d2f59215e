import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EnvoyStream, StreamEvents } from '../xds/xds-stream.ts';

/** How many graphs of a group are in each state, at the moment of a scrape. */
export interface GraphCounts {
  readonly group: string;
  /** Served: valid, compiled, in the group's snapshot. */
  readonly accepted: number;
  /** Sources whose current version fails a check (their last good version keeps serving). */
  readonly rejected: number;
  /** Accepted graphs every connected Envoy of the group runs (every resource ACKed). */
  readonly programmed: number;
  /** Envoys of the group connected now. */
  readonly envoys: number;
}

/** Compiles take milliseconds for a graph to seconds for tens of thousands. */
const COMPILE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** From sending a version to its ACK: an Envoy on loopback takes milliseconds, a busy fleet seconds. */
const PUSH_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Pending {
  readonly version: string;
  readonly at: number;
}

/**
 * The control plane's metrics. Labels are node groups and type URLs: sets
 * the operator configures, never anything of a request.
 */
export class ControlPlaneMetrics {
  /** Its own metrics; the process's (`process_*`, `nodejs_*`) are processMetrics()'. */
  readonly registry = new Registry();
  readonly #compileDuration: Histogram<'group'>;
  readonly #pushDuration: Histogram<'type_url'>;
  readonly #acks: Counter<'type_url'>;
  readonly #nacks: Counter<'type_url'>;
  readonly #streamErrors: Counter;
  /** The version sent to each stream per type, until it is ACKed or NACKed. */
  readonly #pending = new WeakMap<EnvoyStream, Map<string, Pending>>();
  /** When an Envoy of each group last ACKed anything. */
  readonly #lastAck = new Map<string, number>();

  readonly #groupOf: (nodeCluster: string) => string;

  /** `groupOf`: the group whose graphs an Envoy of that node.cluster gets. */
  constructor(counts: () => readonly GraphCounts[], groupOf: (nodeCluster: string) => string) {
    this.#groupOf = groupOf;
    const registers = [this.registry];
    this.#compileDuration = new Histogram({
      name: 'switchyard_compile_duration_seconds',
      help: "A group's compile after a change of its graph files: graphs in, Envoy resources out.",
      labelNames: ['group'],
      buckets: COMPILE_BUCKETS,
      registers,
    });
    this.#pushDuration = new Histogram({
      name: 'switchyard_xds_push_duration_seconds',
      help: 'From sending a version of a resource type to an Envoy to its ACK.',
      labelNames: ['type_url'],
      buckets: PUSH_BUCKETS,
      registers,
    });
    this.#acks = new Counter({
      name: 'switchyard_xds_acks_total',
      help: 'Versions Envoys accepted, by resource type.',
      labelNames: ['type_url'],
      registers,
    });
    this.#nacks = new Counter({
      name: 'switchyard_xds_nacks_total',
      help: 'Versions Envoys refused (NACK), by resource type.',
      labelNames: ['type_url'],
      registers,
    });
    this.#streamErrors = new Counter({
      name: 'switchyard_xds_stream_errors_total',
      help: 'xDS streams that ended in an error, or whose push failed.',
      registers,
    });
    new Gauge({
      name: 'switchyard_graphs',
      help: 'Graphs by state: accepted (served), rejected (a failing new version; the last good one serves), programmed (ACKed by every connected Envoy of the group).',
      labelNames: ['group', 'state'],
      registers,
      collect() {
        this.reset();
        for (const group of counts()) {
          this.set({ group: group.group, state: 'accepted' }, group.accepted);
          this.set({ group: group.group, state: 'rejected' }, group.rejected);
          this.set({ group: group.group, state: 'programmed' }, group.programmed);
        }
      },
    });
    new Gauge({
      name: 'switchyard_xds_connected_envoys',
      help: 'Envoys connected over xDS, by node group.',
      labelNames: ['group'],
      registers,
      collect() {
        this.reset();
        for (const group of counts()) this.set({ group: group.group }, group.envoys);
      },
    });
    const lastAck = this.#lastAck;
    new Gauge({
      name: 'switchyard_xds_last_push_age_seconds',
      help: 'Seconds since an Envoy of the group last ACKed a push; absent before the first.',
      labelNames: ['group'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const [group, at] of lastAck) this.set({ group }, (now - at) / 1000);
      },
    });
  }

  compiled(group: string, seconds: number): void {
    this.#compileDuration.observe({ group }, seconds);
  }

  streamError(): void {
    this.#streamErrors.inc();
  }

  /** The ADS server's events, counted. */
  readonly events: Partial<StreamEvents> = {
    failed: () => {
      this.#streamErrors.inc();
    },
    sent: (stream, typeUrl, version) => {
      let pending = this.#pending.get(stream);
      if (!pending) {
        pending = new Map();
        this.#pending.set(stream, pending);
      }
      pending.set(typeUrl, { version, at: performance.now() });
    },
    ack: (stream, typeUrl, version) => {
      this.#acks.inc({ type_url: typeUrl });
      this.#lastAck.set(this.#groupOf(stream.nodeCluster), Date.now());
      const pending = this.#pending.get(stream);
      const sent = pending?.get(typeUrl);
      if (sent?.version !== version) return;
      pending?.delete(typeUrl);
      this.#pushDuration.observe({ type_url: typeUrl }, (performance.now() - sent.at) / 1000);
    },
    nack: (stream, typeUrl) => {
      this.#nacks.inc({ type_url: typeUrl });
      this.#pending.get(stream)?.delete(typeUrl);
    },
  };
}
