import type { ExecutionPlan } from '../../plan/execution.ts';
import { planHash } from '../../plan/plan-hash.ts';
import type { Outcome } from '../../protocols/outcome.ts';
import { parsePlan } from './plan-cache.ts';

/**
 * How long a request naming a plan the executor does not have waits for it.
 * Below Envoy's ext_proc message timeout (1 s, envoy/ext-proc.ts), which the
 * wait for an ext_proc stream's plan counts against, with room for the
 * graph to start; far above what the plan's delivery trails its route by
 * (the control plane writes plans to executors before it writes the routes
 * naming them to Envoy: milliseconds) and an executor's first fetch from a
 * live control plane (tens of milliseconds).
 */
export const PLAN_WAIT_MS = 500;

/** Plans the control plane stopped serving that are kept: Envoys cut off from it may still name them. */
const RETIRED_CAPACITY = 256;

/**
 * A plan looked up by hash: 503 when the executor does not have it (the
 * control plane has not delivered it, a passing condition), 502 when what
 * it has cannot be run.
 */
export type PlanLookup =
  | { readonly ok: true; readonly value: ExecutionPlan }
  | { readonly ok: false; readonly status: 502 | 503; readonly reason: string };

function lookup(plan: Outcome<ExecutionPlan>): PlanLookup {
  return plan.ok ? plan : { ok: false, status: 502, reason: plan.reason };
}

interface Waiter {
  readonly resolve: (plan: PlanLookup) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * The plans an executor has from the control plane, by content hash. Since
 * a hash names one plan, any plan it has is the right one for a request
 * that names it: plans the control plane no longer serves are kept a while
 * (most recently retired first), and a control plane that goes away takes
 * none with it.
 */
export class ReferencedPlans {
  readonly #current = new Map<string, Outcome<ExecutionPlan>>();
  readonly #retired = new Map<string, Outcome<ExecutionPlan>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #waitMs: number;
  /** Why a plan may be missing, beyond "not yet": an executor given no control plane. */
  readonly #source: string | undefined;

  constructor(options: { readonly waitMs?: number; readonly source?: string } = {}) {
    this.#waitMs = options.waitMs ?? PLAN_WAIT_MS;
    this.#source = options.source;
  }

  /** How many plans are served now. */
  get size(): number {
    return this.#current.size;
  }

  /**
   * The control plane's whole set of plans, by name: what it no longer
   * serves is retired, what is new wakes the requests waiting for it. A
   * plan whose text does not hash to its name is refused, as corrupt.
   */
  replace(plans: ReadonlyMap<string, string>): void {
    for (const [name, plan] of this.#current) {
      if (plans.has(name)) continue;
      this.#current.delete(name);
      this.#retire(name, plan);
    }
    for (const [name, text] of plans) {
      if (this.#current.has(name)) continue;
      const plan: Outcome<ExecutionPlan> =
        planHash(text) === name
          ? parsePlan(text)
          : {
              ok: false,
              reason: `the control plane sent plan ${name} with content of another hash`,
            };
      this.#retired.delete(name);
      this.#current.set(name, plan);
      this.#wake(name, plan);
    }
  }

  /** The plan of this hash now, if the executor has it. */
  get(name: string): PlanLookup | undefined {
    const plan = this.#current.get(name) ?? this.#retired.get(name);
    return plan && lookup(plan);
  }

  /** The plan of this hash, waiting for it at most the bound; a precise failure if it does not come. */
  wait(name: string): Promise<PlanLookup> {
    const plan = this.get(name);
    if (plan) return Promise.resolve(plan);
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(name) ?? new Set<Waiter>();
      this.#waiters.set(name, waiters);
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          waiters.delete(waiter);
          if (waiters.size === 0) this.#waiters.delete(name);
          resolve({ ok: false, status: 503, reason: this.#missing(name) });
        }, this.#waitMs),
      };
      waiters.add(waiter);
    });
  }

  #missing(name: string): string {
    const why =
      this.#source === undefined
        ? 'this executor was started without a control plane to take plans from (give it the control plane xDS address)'
        : `waited ${String(this.#waitMs)} ms for it from ${this.#source}`;
    return `the route names plan ${name}, and the executor has no plan of that hash from the control plane yet: ${why}`;
  }

  #wake(name: string, plan: Outcome<ExecutionPlan>): void {
    const waiters = this.#waiters.get(name);
    if (!waiters) return;
    this.#waiters.delete(name);
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(lookup(plan));
    }
  }

  #retire(name: string, plan: Outcome<ExecutionPlan>): void {
    this.#retired.set(name, plan);
    if (this.#retired.size > RETIRED_CAPACITY) {
      const oldest = this.#retired.keys().next();
      if (oldest.done !== true) this.#retired.delete(oldest.value);
    }
  }
}
