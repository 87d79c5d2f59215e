import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../sources/kubernetes/crd.ts';
import type { InferenceGraphObject } from '../sources/kubernetes/inference-graphs.ts';
import { sameStatus, statusToWrite, type DesiredStatus } from './graph-conditions.ts';

/** What the writer asks of the controller for one resource. */
export interface StatusSource {
  /** The resource as last seen; undefined once it is gone. */
  object(unit: string): InferenceGraphObject | undefined;
  /**
   * For one pass over resources: the status each should have; undefined
   * while the pipelines have not yet taken in the generation the object
   * is at (it is asked again then).
   */
  pass(): (unit: string, object: InferenceGraphObject) => DesiredStatus | undefined;
}

type DesiredOf = ReturnType<StatusSource['pass']>;

export interface StatusWriterOptions {
  readonly kubeConfig: KubeConfig;
  readonly source: StatusSource;
  /** Whether this replica may write: only the leader does. */
  readonly mayWrite: () => boolean;
  /** Written as the field manager of each write: who wrote it. */
  readonly fieldManager: string;
  readonly log: (line: string) => void;
  /** How long a change waits for the ones that come with it (an ACK from every Envoy). */
  readonly settleMs?: number;
}

/** Conflicts in a row on one resource before it waits its turn again. */
const maxConflicts = 5;
const retryMs = { initial: 500, max: 30_000 };

/**
 * Writes InferenceGraph statuses: only where the computed status differs
 * from the one the object has, only while this replica leads, and with the
 * object's resourceVersion, so a write made from an outdated object is
 * refused (409) and done again from the object as it now is. Resources are
 * written one at a time; one whose write failed is tried again later with
 * a growing delay, and every resource is looked at again when this replica
 * becomes the leader, so no change is lost to a failover.
 */
export class StatusWriter {
  readonly #options: StatusWriterOptions;
  readonly #api: CustomObjectsApi;
  readonly #dirty = new Set<string>();
  /** The newest object known per resource: what a write answered, until the watch says more. */
  readonly #known = new Map<string, InferenceGraphObject>();
  readonly #failures = new Map<string, number>();
  #all: () => Iterable<string> = () => [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #writes = 0;

  constructor(options: StatusWriterOptions) {
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Successful writes so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Where "every resource" comes from. */
  setUnits(all: () => Iterable<string>): void {
    this.#all = all;
  }

  /** These resources' statuses may have changed (every resource's, without `units`). */
  touch(units?: Iterable<string>): void {
    for (const unit of units ?? this.#all()) this.#dirty.add(unit);
    this.#schedule(this.#options.settleMs ?? 50);
  }

  /** The watch brought a newer version of a resource. */
  observed(unit: string, object: InferenceGraphObject | undefined): void {
    if (object === undefined) this.#known.delete(unit);
    else if (this.#known.has(unit)) this.#known.set(unit, object);
    this.touch([unit]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped || this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#pass().finally(() => {
        this.#running = undefined;
        if (this.#dirty.size > 0) this.#schedule(this.#options.settleMs ?? 50);
      });
    }, delayMs);
  }

  async #pass(): Promise<void> {
    if (!this.#options.mayWrite()) {
      // A follower writes nothing; it looks at everything once it leads (touch()).
      this.#dirty.clear();
      return;
    }
    const units = [...this.#dirty];
    this.#dirty.clear();
    const desiredOf = this.#options.source.pass();
    let delayed = Number.POSITIVE_INFINITY;
    for (const unit of units) {
      if (this.#stopped || !this.#options.mayWrite()) return;
      const retryIn = await this.#write(unit, desiredOf);
      if (retryIn !== undefined) delayed = Math.min(delayed, retryIn);
    }
    if (Number.isFinite(delayed)) {
      setTimeout(() => {
        this.touch(units.filter((unit) => this.#failures.has(unit)));
      }, delayed).unref();
    }
  }

  /** Writes one resource's status if it differs; a delay when it must be tried again. */
  async #write(unit: string, desiredOf: DesiredOf): Promise<number | undefined> {
    let object = this.#known.get(unit) ?? this.#options.source.object(unit);
    for (let conflicts = 0; object !== undefined;) {
      const desired = desiredOf(unit, object);
      if (!desired || sameStatus(desired, object.status)) {
        this.#failures.delete(unit);
        return undefined;
      }
      try {
        const written = (await this.#api.replaceNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: object.metadata?.namespace ?? '',
          name: object.metadata?.name ?? '',
          fieldManager: this.#options.fieldManager,
          body: { ...object, status: statusToWrite(desired, object.status, new Date()) },
        })) as InferenceGraphObject;
        this.#writes += 1;
        this.#known.set(unit, written);
        this.#failures.delete(unit);
        return undefined;
      } catch (error) {
        const code = error instanceof ApiException ? error.code : undefined;
        if (code === 404) {
          this.#known.delete(unit);
          this.#failures.delete(unit);
          return undefined;
        }
        if (code !== 409 || ++conflicts > maxConflicts) return this.#failed(unit, error);
        // Written from an outdated object: read it as it now is, and compute again.
        try {
          object = await this.#read(object);
        } catch (readError) {
          return this.#failed(unit, readError);
        }
        if (object) this.#known.set(unit, object);
        else this.#known.delete(unit);
      }
    }
    return undefined;
  }

  async #read(object: InferenceGraphObject): Promise<InferenceGraphObject | undefined> {
    try {
      return (await this.#api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: object.metadata?.namespace ?? '',
        name: object.metadata?.name ?? '',
      })) as InferenceGraphObject;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  #failed(unit: string, error: unknown): number {
    const failures = (this.#failures.get(unit) ?? 0) + 1;
    this.#failures.set(unit, failures);
    const delay = Math.min(retryMs.max, retryMs.initial * 2 ** (failures - 1));
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    this.#options.log(`status of ${unit}: ${String(reason)}; trying again in ${String(delay)} ms`);
    return delay;
  }
}
