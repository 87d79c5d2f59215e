import {
  ApiException,
  CoordinationV1Api,
  V1Lease,
  V1LeaseSpec,
  V1MicroTime,
  V1ObjectMeta,
  type KubeConfig,
} from '@kubernetes/client-node';

export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  /** Where the Lease is. */
  readonly namespace: string;
  /** The Lease's name: replicas that share it elect one leader. */
  readonly name: string;
  /** This replica, as the Lease names its holder. */
  readonly identity: string;
  /** How long a holder's lease lasts without a renewal before another may take it (whole seconds). */
  readonly leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading. */
  readonly renewDeadlineMs: number;
  /** How often every replica tries: the leader to renew, the others to acquire. */
  readonly retryPeriodMs: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly log: (line: string) => void;
}

/** What this replica last saw of the Lease, and when, by its own monotonic clock. */
interface Observed {
  readonly holder: string;
  readonly renewTime: string;
  readonly resourceVersion: string;
  readonly at: number;
}

/** A jittered wait, so replicas do not try in lockstep. */
function jittered(ms: number): number {
  return ms * (1 + Math.random() * 0.2);
}

/**
 * A Lease time as text. client-node types them as V1MicroTime (a Date) but
 * hands back the API's string; either reads as a Date.
 */
function timeText(time: V1MicroTime | undefined): string {
  return time === undefined ? '' : new Date(time).toISOString();
}

function isConflict(error: unknown): boolean {
  return error instanceof ApiException && (error.code === 409 || error.code === 422);
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it
 * (client-node has no helper): the leader renews the Lease every retry
 * period and stops leading when it could not renew for the renew deadline;
 * another replica takes the Lease once it has seen the same record, unrenewed,
 * for the lease duration, measured by its own clock (not the holder's
 * timestamps: clocks differ); the API server's resourceVersion check decides
 * a race, the loser's write being refused. A leader that stops releases the
 * Lease, so the next one need not wait.
 */
export class LeaderElector {
  readonly #options: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  #leading = false;
  #observed: Observed | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Steps down at the renew deadline unless a renewal came first, even while a request hangs. */
  #deadline: NodeJS.Timeout | undefined;
  #stopped = false;
  #attempt: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    if (options.renewDeadlineMs >= options.leaseDurationMs) {
      throw new Error('the renew deadline must be shorter than the lease duration');
    }
    if (options.retryPeriodMs >= options.renewDeadlineMs) {
      throw new Error('the retry period must be shorter than the renew deadline');
    }
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  get identity(): string {
    return this.#options.identity;
  }

  start(): void {
    this.#stopped = false;
    this.#tick();
  }

  /** Stops trying; a leader releases the Lease first. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
    await this.#attempt;
    if (!this.#leading) return;
    this.#stepDown();
    await this.#release().catch((error: unknown) => {
      this.#options.log(`leader election: could not release the Lease: ${String(error)}`);
    });
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#attempt = this.#try().finally(() => {
      this.#attempt = undefined;
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        this.#tick();
      }, jittered(this.#options.retryPeriodMs));
    });
  }

  async #try(): Promise<void> {
    let held = false;
    try {
      held = await this.#acquireOrRenew();
    } catch (error) {
      this.#options.log(
        `leader election: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
    if (this.#stopped) return;
    if (held) {
      clearTimeout(this.#deadline);
      this.#deadline = setTimeout(() => {
        this.#options.log(
          `leader election: ${this.#options.identity} could not renew the Lease in time and stops leading`,
        );
        this.#stepDown();
      }, this.#options.renewDeadlineMs);
      if (!this.#leading) {
        this.#leading = true;
        this.#options.log(`leader election: ${this.#options.identity} leads`);
        this.#options.onStartedLeading();
      }
    }
  }

  #stepDown(): void {
    clearTimeout(this.#deadline);
    if (!this.#leading) return;
    this.#leading = false;
    this.#options.onStoppedLeading();
  }

  /** One attempt: whether this replica holds the Lease afterwards. */
  async #acquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#options;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 404) throw error;
      try {
        await this.#api.createNamespacedLease({
          namespace,
          body: this.#lease(undefined, now, 0, now),
        });
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false;
        throw createError;
      }
    }
    const spec = lease.spec ?? new V1LeaseSpec();
    const holder = spec.holderIdentity ?? '';
    const record: Omit<Observed, 'at'> = {
      holder,
      renewTime: timeText(spec.renewTime),
      resourceVersion: lease.metadata?.resourceVersion ?? '',
    };
    const seen = this.#observed;
    if (
      !seen ||
      seen.holder !== record.holder ||
      seen.renewTime !== record.renewTime ||
      seen.resourceVersion !== record.resourceVersion
    ) {
      this.#observed = { ...record, at: performance.now() };
    }
    const observedAt = this.#observed?.at ?? performance.now();
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== identity && performance.now() - observedAt < durationMs) {
      return false;
    }
    const ours = holder === identity;
    const acquired = ours && spec.acquireTime ? new Date(spec.acquireTime) : now;
    const transitions = (spec.leaseTransitions ?? 0) + (ours ? 0 : 1);
    try {
      const written = await this.#api.replaceNamespacedLease({
        namespace,
        name,
        body: this.#lease(lease.metadata?.resourceVersion, acquired, transitions, now),
      });
      this.#observed = {
        holder: identity,
        renewTime: timeText(written.spec?.renewTime),
        resourceVersion: written.metadata?.resourceVersion ?? '',
        at: performance.now(),
      };
      return true;
    } catch (error) {
      // Someone else wrote the Lease since we read it: they won this round.
      if (isConflict(error)) return false;
      throw error;
    }
  }

  #lease(
    resourceVersion: string | undefined,
    acquired: Date,
    transitions: number,
    now: Date,
    holder: string = this.#options.identity,
    durationSeconds = Math.max(1, Math.round(this.#options.leaseDurationMs / 1000)),
  ): V1Lease {
    const lease = new V1Lease();
    lease.metadata = new V1ObjectMeta();
    lease.metadata.name = this.#options.name;
    lease.metadata.namespace = this.#options.namespace;
    if (resourceVersion !== undefined) lease.metadata.resourceVersion = resourceVersion;
    lease.spec = new V1LeaseSpec();
    if (holder !== '') lease.spec.holderIdentity = holder;
    lease.spec.leaseDurationSeconds = durationSeconds;
    lease.spec.acquireTime = new V1MicroTime(acquired.getTime());
    lease.spec.renewTime = new V1MicroTime(now.getTime());
    lease.spec.leaseTransitions = transitions;
    return lease;
  }

  /** Gives the Lease up: no holder, so the next replica takes it at its next try. */
  async #release(): Promise<void> {
    const { namespace, name, identity } = this.#options;
    const lease = await this.#api.readNamespacedLease({ namespace, name });
    if (lease.spec?.holderIdentity !== identity) return;
    const now = new Date();
    await this.#api.replaceNamespacedLease({
      namespace,
      name,
      body: this.#lease(
        lease.metadata?.resourceVersion,
        now,
        lease.spec.leaseTransitions ?? 0,
        now,
        '',
        1,
      ),
    });
    this.#options.log(`leader election: ${identity} released the Lease`);
  }
}
