import { Type, type Static } from '@sinclair/typebox';

/**
 * An InferenceGraph's status, defined once: the CRD's status schema is
 * generated from it, and the controller writes it.
 */

/** The condition types, in the order they are written. */
export const CONDITION_TYPES = ['Accepted', 'ResolvedRefs', 'Programmed'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** A condition as Kubernetes API conventions have it (metav1.Condition). */
export const Condition = Type.Object(
  {
    type: Type.String({
      maxLength: 316,
      description: 'Accepted, ResolvedRefs or Programmed.',
    }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
    reason: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      description: 'Why the condition is as it is, in one CamelCase word.',
    }),
    message: Type.String({
      maxLength: 32768,
      description: 'What is wrong and how to fix it, or what holds.',
    }),
    lastTransitionTime: Type.String({
      format: 'date-time',
      description: 'When the status last changed.',
    }),
    observedGeneration: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "The object's metadata.generation this condition was found for.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const InferenceGraphStatus = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'The metadata.generation the controller last read.',
      }),
    ),
    url: Type.Optional(
      Type.String({
        description:
          'Where the graph is called: its public path, after its host when it has one ("*" answers on any).',
      }),
    ),
    conditions: Type.Optional(
      Type.Array(Condition, {
        maxItems: 8,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        description:
          'Accepted: the spec is valid (else every problem, with its path and a hint; the last accepted version keeps serving). ResolvedRefs: every Service it names is found and may be used. Programmed: every connected Envoy of its group runs its current version.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type Condition = Static<typeof Condition>;
export type InferenceGraphStatus = Static<typeof InferenceGraphStatus>;
