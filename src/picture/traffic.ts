import type { GraphModel } from '../graph/model.ts';

/** What Envoy saw of the calls to one node over the recent window, for a live picture. */
export interface NodeTraffic {
  /** Requests to the node's cluster in the window. */
  readonly requests: number;
  /** Of them, answered 5xx (by the node, or by Envoy for it: timeout, reset, no host). */
  readonly errors: number;
  readonly requestsPerSecond: number;
  readonly errorsPerSecond: number;
}

/** Where a picture finds the traffic of a graph's node; none for nodes without a cluster. */
export type TrafficOf = (graph: GraphModel, node: string) => NodeTraffic | undefined;

function rate(value: number): string {
  return value >= 10 ? value.toFixed(0) : value.toFixed(2);
}

/** Two short lines: how many and how fast, and how many failed. */
export function trafficLines(traffic: NodeTraffic): string[] {
  const share = traffic.requests === 0 ? 0 : (traffic.errors / traffic.requests) * 100;
  return [
    `${String(traffic.requests)} rq · ${rate(traffic.requestsPerSecond)}/s`,
    `${String(traffic.errors)} 5xx (${share.toFixed(share === 0 || share === 100 ? 0 : 1)}%)`,
  ];
}
