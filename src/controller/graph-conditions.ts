import { isDeepStrictEqual } from 'node:util';
import type { GraphModel } from '../graph/model.ts';
import { publicInferencePath } from '../protocols/paths.ts';
import type {
  Condition,
  ConditionType,
  InferenceGraphStatus,
} from '../sources/kubernetes/status-schema.ts';
import type { Diagnostic } from '../spec/diagnostic.ts';
import { typeName, type GraphStatus } from './status.ts';

/** A Service reference of a served graph that gives it no endpoints, and why. */
export interface UnresolvedReference {
  readonly node: string;
  readonly problem: string;
  /** The Service's namespace does not allow the graph's to use it. */
  readonly notPermitted: boolean;
}

/** What an InferenceGraph's status is made of. */
export interface GraphFacts {
  /** The generation of the resource's current version: the one the pipelines were told of. */
  readonly generation: number;
  readonly group: string;
  /** Problems of the current version (or of it against other graphs); none when it is served. */
  readonly problems: readonly Diagnostic[] | undefined;
  /** The version served: the current one, or the last accepted while the current has problems. */
  readonly served?: {
    readonly graph: GraphModel;
    readonly generation: number;
    /** What the Envoys of its group run of it; undefined until it is in a snapshot. */
    readonly status: GraphStatus | undefined;
    readonly unresolved: readonly UnresolvedReference[];
    readonly references: number;
  };
}

/** A condition as computed, before its transition time is known. */
export type ConditionState = Omit<Condition, 'lastTransitionTime'> & {
  readonly type: ConditionType;
  readonly observedGeneration: number;
};

export interface DesiredStatus {
  readonly observedGeneration: number;
  readonly url?: string;
  readonly conditions: readonly ConditionState[];
}

/** The API's bound on a condition's message. */
const maxMessage = 32_768;

function bounded(message: string): string {
  return message.length <= maxMessage ? message : `${message.slice(0, maxMessage - 1)}…`;
}

function problemLine(d: Diagnostic): string {
  const where = d.path === '' ? '' : `${d.path}: `;
  return `${where}${d.message}${d.hint === undefined ? '' : ` (hint: ${d.hint})`}`;
}

export function graphUrl(graph: GraphModel): string {
  const path = publicInferencePath(graph.protocol, graph.name);
  return graph.host === '*' ? path : `${graph.host}${path}`;
}

function accepted(facts: GraphFacts): ConditionState {
  const { problems, generation } = facts;
  if (problems && problems.length > 0) {
    const keeps = facts.served
      ? `generation ${String(facts.served.generation)} keeps serving`
      : 'nothing of it is served';
    return {
      type: 'Accepted',
      status: 'False',
      reason: 'Invalid',
      message: bounded(
        `${String(problems.length)} problem(s); ${keeps}:\n${problems.map(problemLine).join('\n')}`,
      ),
      observedGeneration: generation,
    };
  }
  return {
    type: 'Accepted',
    status: 'True',
    reason: 'Accepted',
    message: 'the spec is valid',
    observedGeneration: generation,
  };
}

function resolvedRefs(facts: GraphFacts): ConditionState {
  const served = facts.served;
  if (!served) {
    return {
      type: 'ResolvedRefs',
      status: 'Unknown',
      reason: 'Invalid',
      message: 'nothing is served: see Accepted',
      observedGeneration: facts.generation,
    };
  }
  const observedGeneration = served.generation;
  if (served.unresolved.length === 0) {
    return {
      type: 'ResolvedRefs',
      status: 'True',
      reason: 'ResolvedRefs',
      message:
        served.references === 0
          ? 'no node is served by a Service'
          : `every Service is found (${String(served.references)})`,
      observedGeneration,
    };
  }
  return {
    type: 'ResolvedRefs',
    status: 'False',
    reason: served.unresolved.some((u) => u.notPermitted) ? 'RefNotPermitted' : 'BackendNotFound',
    message: bounded(
      `${served.unresolved.map((u) => `node ${u.node}: ${u.problem}`).join('\n')}\nthese nodes answer 503 until then`,
    ),
    observedGeneration,
  };
}

function programmed(facts: GraphFacts): ConditionState {
  const served = facts.served;
  if (!served) {
    return {
      type: 'Programmed',
      status: 'False',
      reason: 'Invalid',
      message: 'nothing is served: see Accepted',
      observedGeneration: facts.generation,
    };
  }
  const observedGeneration = served.generation;
  const { status } = served;
  const at = `generation ${String(served.generation)}`;
  if (!status || status.envoys === 0) {
    return {
      type: 'Programmed',
      status: 'False',
      reason: 'Pending',
      message: `no Envoy of group ${facts.group} is connected to this control plane`,
      observedGeneration,
    };
  }
  if (status.problems.length > 0) {
    const lines = status.problems.map(
      (p) =>
        `Envoy ${p.envoy} ${p.kind === 'rejected' ? 'rejected' : 'holds back'} ${typeName(p.typeUrl)} ${p.name}: ${p.message}`,
    );
    return {
      type: 'Programmed',
      status: 'False',
      reason: 'Rejected',
      message: bounded(
        `${at} version ${status.version} is not what every Envoy runs; they keep its previous version:\n${lines.join('\n')}`,
      ),
      observedGeneration,
    };
  }
  if (status.programmedOn < status.envoys) {
    return {
      type: 'Programmed',
      status: 'False',
      reason: 'Pending',
      message: `${at} version ${status.version} runs on ${String(status.programmedOn)} of ${String(status.envoys)} Envoy(s) of group ${facts.group}`,
      observedGeneration,
    };
  }
  return {
    type: 'Programmed',
    status: 'True',
    reason: 'Programmed',
    message: `${at} version ${status.version} runs on every Envoy of group ${facts.group} (${String(status.envoys)})`,
    observedGeneration,
  };
}

/** The status an InferenceGraph should have. Pure. */
export function desiredStatus(facts: GraphFacts): DesiredStatus {
  return {
    observedGeneration: facts.generation,
    ...(facts.served && { url: graphUrl(facts.served.graph) }),
    conditions: [accepted(facts), resolvedRefs(facts), programmed(facts)],
  };
}

/**
 * The status to write: the desired one, each condition keeping the time it
 * last changed where its status did not change.
 */
export function statusToWrite(
  desired: DesiredStatus,
  current: InferenceGraphStatus | undefined,
  now: Date,
): InferenceGraphStatus {
  const conditions = desired.conditions.map((condition): Condition => {
    const before = current?.conditions?.find((c) => c.type === condition.type);
    return {
      ...condition,
      lastTransitionTime:
        before && before.status === condition.status
          ? before.lastTransitionTime
          : now.toISOString().replace(/\.\d+Z$/, 'Z'),
    };
  });
  return {
    observedGeneration: desired.observedGeneration,
    ...(desired.url !== undefined && { url: desired.url }),
    conditions,
  };
}

/** Whether a written status already says what the desired one does (transition times aside). */
export function sameStatus(
  desired: DesiredStatus,
  current: InferenceGraphStatus | undefined,
): boolean {
  if (!current) return false;
  const written = {
    observedGeneration: current.observedGeneration,
    url: current.url,
    conditions: (current.conditions ?? []).map(({ lastTransitionTime: _time, ...rest }) => rest),
  };
  return isDeepStrictEqual(written, {
    observedGeneration: desired.observedGeneration,
    url: desired.url,
    conditions: desired.conditions,
  });
}
