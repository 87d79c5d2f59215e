/**
 * What the interpreter tells whoever watches a run (metrics, traces): it
 * stays pure, the transport injects an observer per request, or none.
 */
export interface RunObserver {
  /**
   * A node is about to be called with `headers`, which the observer may add
   * trace context to. The returned function is called once, with the node's
   * outcome: 200, or the status of the step's failure, and whether the graph
   * goes on without it (a soft node).
   */
  nodeCall(node: string, headers: Record<string, string>): (status: number, soft: boolean) => void;
  /** A built-in combiner of `node` took `seconds`. */
  combined(node: string, seconds: number): void;
}
