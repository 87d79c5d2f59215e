import type { EnvoyView } from './envoy-view.ts';
import { Rejections } from './rejections.ts';

/** Nodes remembered at most; the ones without a live stream are forgotten first. */
const maxNodes = 4096;

interface NodeRecord {
  readonly rejections: Rejections;
  /** What the node ran when its last stream ended, for its next stream. */
  view: EnvoyView | undefined;
  live: number;
}

/**
 * What the server remembers of each Envoy (node id) across its streams: the
 * versions it refused, and what it ran when its stream ended. An Envoy that
 * reconnects keeps running its config, so its next stream starts from there.
 */
export class NodeMemory {
  readonly #nodes = new Map<string, NodeRecord>();

  /**
   * A stream of `nodeId` starts. It shares the node's rejections, and takes
   * what the node ran unless another stream of the same node id is live
   * (two Envoys under one id: neither may trust the other's state).
   */
  attach(nodeId: string): { rejections: Rejections; view: EnvoyView | undefined } {
    let record = this.#nodes.get(nodeId);
    if (record) {
      this.#nodes.delete(nodeId);
    } else {
      record = { rejections: new Rejections(), view: undefined, live: 0 };
    }
    this.#nodes.set(nodeId, record);
    const view = record.live === 0 ? record.view : undefined;
    record.view = undefined;
    record.live += 1;
    this.#bound();
    return { rejections: record.rejections, view };
  }

  /** A stream of `nodeId` ended, leaving the node running `view`. */
  detach(nodeId: string, view: EnvoyView): void {
    const record = this.#nodes.get(nodeId);
    if (!record) return;
    record.live -= 1;
    record.view = record.live === 0 ? view : undefined;
  }

  #bound(): void {
    for (const [nodeId, record] of this.#nodes) {
      if (this.#nodes.size <= maxNodes) return;
      if (record.live === 0) this.#nodes.delete(nodeId);
    }
  }
}
