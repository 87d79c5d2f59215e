import type { Endpoint, InferenceGraphDocument, Protocol } from '../spec/schema.ts';

/** Something of the source the importer did not carry over, and why. */
export interface ImportNote {
  /** The source object ("serving.kserve.io/InferenceGraph default/dog-breed"). */
  readonly source: string;
  /** Where in it, e.g. "spec.nodes.root.steps[1].condition". */
  readonly path: string;
  readonly message: string;
}

export interface ImportResult {
  /** The Switchyard graphs, one per imported object that could be carried over. */
  readonly graphs: readonly InferenceGraphDocument[];
  /** What was left out of the graphs written, and what could not be imported at all. */
  readonly notes: readonly ImportNote[];
  /** Objects that could not be imported at all (their notes say why). */
  readonly refused: readonly string[];
  /** Of those, the objects of another kind than the importer reads. */
  readonly foreign: readonly string[];
}

/** Where a service the source names is served, as the mapping file or the controller says. */
export interface ServiceAddress {
  readonly endpoint: Endpoint;
  readonly protocol?: Protocol;
  /** The model's name on its server. */
  readonly model?: string;
}

export interface ImportOptions {
  /** Overrides the objects' namespaces (default: theirs, else "default"). */
  readonly namespace?: string;
  /** Addresses by service name (KServe InferenceService, Seldon unit). */
  readonly addresses?: ReadonlyMap<string, ServiceAddress>;
}

/** Thrown inside one object's import: the object is refused with this reason. */
export class Refused extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}
