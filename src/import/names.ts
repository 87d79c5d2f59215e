import { Value } from '@sinclair/typebox/value';
import { NodeName } from '../spec/schema.ts';

/** Whether Switchyard takes `name` as a node name as it is. */
export function isNodeName(name: string): boolean {
  return Value.Check(NodeName, name);
}

/**
 * Hands out node names: each source name keeps its spelling when Switchyard
 * takes it and it is free, else gets a valid, unused one (the caller notes it).
 */
export class NodeNames {
  readonly #taken = new Set<string>();

  /** Whether `name` is free and valid: only then can it be claimed as it is. */
  free(name: string): boolean {
    return isNodeName(name) && !this.#taken.has(name);
  }

  claim(name: string): void {
    this.#taken.add(name);
  }

  /** `wanted` if free, else the first free "wanted-2", "wanted-3", ... of a valid spelling. */
  take(wanted: string): string {
    let base = wanted
      .replace(/[^-A-Za-z0-9_.]/g, '-')
      .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
      .slice(0, 56);
    if (base === '') base = 'node';
    let name = base;
    for (let n = 2; !this.free(name); n++) name = `${base}-${String(n)}`;
    this.claim(name);
    return name;
  }
}
