import { checkGraphSet, nestsGraphs, ServedClaims } from '../graph/graph-set.ts';
import type { GraphModel } from '../graph/model.ts';
import type { SourceUpdate } from '../sources/source-update.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';

interface Unit {
  /** The graphs of the unit's last version that passed every check: what is served. */
  readonly served: readonly GraphModel[];
  /** The current version's problems; none when it is the version served. */
  readonly problems: readonly Diagnostic[];
  /**
   * The current version's graphs while they pass every check of their own
   * but not those across graphs (a name or route another unit holds, a
   * nested graph not served): checked again with every change, since the
   * other unit may change or go.
   */
  readonly waiting?: readonly GraphModel[];
}

const nothing: Unit = { served: [], problems: [] };

function bySource(diagnostics: readonly Diagnostic[]): Map<string, Diagnostic[]> {
  const found = new Map<string, Diagnostic[]>();
  for (const diagnostic of diagnostics) {
    const list = found.get(diagnostic.source);
    if (list) list.push(diagnostic);
    else found.set(diagnostic.source, [diagnostic]);
  }
  return found;
}

function sameProblems(a: readonly Diagnostic[], b: readonly Diagnostic[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The one place that decides what is served: per source unit, the last
 * version that passed every check, its own (the source's spec checks, then
 * `checkGraph`: the planner's and Envoy's rules) and those across the
 * graphs served (names, routes, nesting); and, while the current version is
 * not that one, its problems. A unit with problems keeps serving its last
 * good graphs; a new unit with problems serves none.
 *
 * Graphs already served win: a new claim on a name or route one of them
 * holds is the one left out. A change costs the units it touches: the
 * names and routes the served graphs claim are kept as they come and go,
 * and only while some graph nests another does a change look at every
 * graph (a nest can dangle, or close a cycle, anywhere).
 */
export class LastGoodGraphs {
  readonly #checkGraph: (graph: GraphModel) => readonly Diagnostic[];
  readonly #units = new Map<string, Unit>();
  /** Units whose current version waits on the checks across graphs. */
  readonly #waiting = new Set<string>();
  /** Units whose served graphs nest others. */
  readonly #nesting = new Set<string>();
  /** Units with problems. */
  readonly #troubled = new Set<string>();
  readonly #claims = new ServedClaims();
  /** The units' names in order; dropped when a unit comes or goes. */
  #names: string[] | undefined;
  /** What graphs() returns; dropped when what a unit serves changes. */
  #served: GraphModel[] | undefined;

  constructor(checkGraph: (graph: GraphModel) => readonly Diagnostic[]) {
    this.#checkGraph = checkGraph;
  }

  /** Every unit's served graphs, units in name order. */
  graphs(): readonly GraphModel[] {
    if (!this.#served) {
      const served: GraphModel[] = [];
      for (const name of this.#sortedNames()) {
        for (const graph of this.#units.get(name)?.served ?? []) served.push(graph);
      }
      this.#served = served;
    }
    return this.#served;
  }

  /** The problems of each unit that has any, units in name order. */
  problems(): ReadonlyMap<string, readonly Diagnostic[]> {
    return new Map(
      [...this.#troubled].sort().map((name) => [name, this.#units.get(name)?.problems ?? []]),
    );
  }

  /** The problems of one unit, if it has any. */
  problemsOf(name: string): readonly Diagnostic[] | undefined {
    return this.#troubled.has(name) ? this.#units.get(name)?.problems : undefined;
  }

  /** The graphs one unit serves: its last good version's. */
  servedOf(name: string): readonly GraphModel[] {
    return this.#units.get(name)?.served ?? [];
  }

  /** Takes one batch of a source's updates; says whether what is served, or a problem, changed. */
  apply(updates: readonly SourceUpdate[]): boolean {
    let changed = false;
    let removed = false;
    const candidates = new Map<string, readonly GraphModel[]>();
    for (const update of updates) {
      candidates.delete(update.unit);
      if ('removed' in update) {
        if (this.#forget(update.unit)) changed = removed = true;
        continue;
      }
      const problems =
        update.diagnostics.length > 0
          ? update.diagnostics
          : update.graphs.flatMap((graph) => this.#checkGraph(graph));
      if (problems.length === 0) {
        candidates.set(update.unit, update.graphs);
        continue;
      }
      const previous = this.#units.get(update.unit);
      changed = this.#replace(update.unit, { served: previous?.served ?? [], problems }) || changed;
    }
    for (const name of this.#waiting) {
      if (!candidates.has(name)) candidates.set(name, this.#units.get(name)?.waiting ?? []);
    }
    // A graph that went away may be one that another graph nests.
    if (candidates.size > 0 || (removed && this.#nesting.size > 0)) {
      changed = this.#admit(candidates) || changed;
    }
    return changed;
  }

  /**
   * Checks the candidates across graphs, against what is served and each
   * other, in the order given. A candidate left out keeps its last good
   * graphs, which are served, so the others are checked again against
   * those until every one left in holds.
   */
  #admit(candidates: ReadonlyMap<string, readonly GraphModel[]>): boolean {
    for (const name of candidates.keys()) {
      for (const graph of this.#units.get(name)?.served ?? []) this.#claims.remove(graph);
    }
    const everyGraph =
      this.#nesting.size > 0 || [...candidates.values()].some((graphs) => graphs.some(nestsGraphs));
    const leftOut = new Map<string, readonly Diagnostic[]>();
    let pending = [...candidates];
    let found: Map<string, Diagnostic[]>;
    for (;;) {
      const fresh = pending.flatMap(([, graphs]) => graphs);
      const inCheck = new Set(pending.map(([name]) => name));
      found = bySource(
        everyGraph
          ? checkGraphSet([...this.#servedOutside(inCheck), ...fresh])
          : checkGraphSet(fresh, this.#claims),
      );
      let fallback = false;
      for (const [name] of pending) {
        const problems = found.get(name);
        if (!problems) continue;
        leftOut.set(name, problems);
        for (const graph of this.#units.get(name)?.served ?? []) {
          this.#claims.add(graph);
          fallback = true;
        }
      }
      pending = pending.filter(([name]) => !found.has(name));
      if (!fallback) break;
    }
    let changed = false;
    for (const [name, graphs] of candidates) {
      const problems = leftOut.get(name);
      if (problems) {
        const served = this.#units.get(name)?.served ?? [];
        changed = this.#replace(name, { served, problems, waiting: graphs }) || changed;
        continue;
      }
      for (const graph of graphs) this.#claims.add(graph);
      changed = this.#replace(name, { served: graphs, problems: [] }) || changed;
    }
    // A unit the change did not touch can break a check across graphs: a graph it nests went
    // away. It keeps serving, with the problem reported, and waits until it holds again.
    for (const [name, problems] of found) {
      const unit = this.#units.get(name);
      if (candidates.has(name) || !unit || unit.problems.length > 0) continue;
      this.#replace(name, { served: unit.served, problems, waiting: unit.served });
      changed = true;
    }
    return changed;
  }

  /** The served graphs of the units not in `names`, in name order. */
  #servedOutside(names: ReadonlySet<string>): GraphModel[] {
    const graphs: GraphModel[] = [];
    for (const name of this.#sortedNames()) {
      if (names.has(name)) continue;
      for (const graph of this.#units.get(name)?.served ?? []) graphs.push(graph);
    }
    return graphs;
  }

  /** Records a unit's new state; says whether what it serves, or its problems, changed. */
  #replace(name: string, unit: Unit): boolean {
    const previous = this.#units.get(name);
    this.#units.set(name, unit);
    if (!previous) this.#names = undefined;
    if (unit.waiting) this.#waiting.add(name);
    else this.#waiting.delete(name);
    if (unit.problems.length > 0) this.#troubled.add(name);
    else this.#troubled.delete(name);
    if (unit.served.some(nestsGraphs)) this.#nesting.add(name);
    else this.#nesting.delete(name);
    const before = previous ?? nothing;
    if (before.served !== unit.served) this.#served = undefined;
    return (
      !previous || before.served !== unit.served || !sameProblems(before.problems, unit.problems)
    );
  }

  #forget(name: string): boolean {
    const unit = this.#units.get(name);
    if (!unit) return false;
    for (const graph of unit.served) this.#claims.remove(graph);
    this.#units.delete(name);
    this.#waiting.delete(name);
    this.#nesting.delete(name);
    this.#troubled.delete(name);
    this.#names = undefined;
    this.#served = undefined;
    return true;
  }

  #sortedNames(): readonly string[] {
    this.#names ??= [...this.#units.keys()].sort();
    return this.#names;
  }
}
