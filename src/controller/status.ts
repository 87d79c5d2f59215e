import type { GraphProblem, StreamStatus } from '../xds/xds-stream.ts';
import type { ExecutorEntry } from './group-pipeline.ts';

/** What the control plane knows, as `GET /status` serves it and `switchyard status` prints it. */

export interface GraphStatus {
  readonly id: string;
  readonly group: string;
  readonly source: string;
  /** The graph's current version: a digest of the resources that carry it, endpoints aside. */
  readonly version: string;
  /**
   * On how many of the group's connected Envoys every resource of the
   * graph's current version is ACKed (its clusters' endpoints in any
   * version: they follow pods, not the graph).
   */
  readonly programmedOn: number;
  /** Those Envoys' node ids. */
  readonly programmedBy: readonly string[];
  readonly envoys: number;
  /** Resources of the graph an Envoy refused, or that wait for one it refused, with its message. */
  readonly problems: readonly (GraphProblem & { readonly envoy: string })[];
  /** The nodes the executor runs the graph from, and how; empty when Envoy runs it alone. */
  readonly executors: readonly ExecutorEntry[];
}

export interface ControlPlaneStatus {
  readonly envoys: readonly StreamStatus[];
  readonly graphs: readonly GraphStatus[];
  /** Rejected inputs, with what is wrong; their last good versions keep serving. */
  readonly problems: readonly {
    readonly source: string;
    readonly diagnostics: readonly string[];
  }[];
}

const typeNames: Readonly<Record<string, string>> = {
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'CDS',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': 'EDS',
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'LDS',
  'type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration': 'SRDS',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'RDS',
  'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig': 'ECDS',
};

/** A resource type's short name: CDS, EDS, ... */
export function typeName(typeUrl: string): string {
  return typeNames[typeUrl] ?? typeUrl;
}

/** The status as a table, for people. */
export function renderStatus(status: ControlPlaneStatus): string {
  const lines: string[] = [`Envoys (${String(status.envoys.length)})`];
  for (const envoy of status.envoys) {
    lines.push(
      `  ${envoy.nodeId}  group ${envoy.nodeCluster}  ${envoy.protocol} xDS  connected since ${envoy.connectedSince}`,
    );
    for (const [typeUrl, type] of Object.entries(envoy.types)) {
      if (!type) continue;
      const acked = type.ackedVersion ?? '-';
      const synced = type.sentVersion === type.ackedVersion ? '' : '  (waiting for ACK)';
      lines.push(
        `    ${typeNames[typeUrl] ?? typeUrl}  sent ${type.sentVersion ?? '-'}  acked ${acked}${synced}`,
      );
      if (type.nack) {
        lines.push(
          `      last NACK of ${type.nack.version} at ${type.nack.at}: ${type.nack.message}`,
        );
      }
    }
    for (const rejection of envoy.rejected) {
      const graphs = rejection.graphs.length > 0 ? ` (graph ${rejection.graphs.join(', ')})` : '';
      lines.push(
        `    refuses ${typeNames[rejection.typeUrl] ?? rejection.typeUrl} ${rejection.name}${graphs} until it changes: ${rejection.message}`,
      );
    }
  }
  lines.push(`Graphs (${String(status.graphs.length)})`);
  for (const graph of status.graphs) {
    const binaryOnly = graph.executors.every((e) => e.binaryTensorsOnly === true);
    const entries = graph.executors
      .map((e) => {
        const only = e.binaryTensorsOnly === true && !binaryOnly ? ', binary tensors only' : '';
        return `${e.entry} (${e.transport}${only})`;
      })
      .join(', ');
    // A V2 graph Envoy runs may still send the executor the requests with binary tensors.
    const runs =
      graph.executors.length === 0
        ? 'Envoy alone'
        : binaryOnly
          ? `Envoy alone, binary tensors by the executor from ${entries}`
          : `executor from ${entries}`;
    lines.push(
      `  ${graph.id}  group ${graph.group}  ${runs}  programmed on ${String(graph.programmedOn)}/${String(graph.envoys)} Envoy(s) at version ${graph.version}  (${graph.source})`,
    );
    for (const problem of graph.problems) {
      const what = problem.kind === 'rejected' ? 'rejected' : 'held back';
      lines.push(
        `    Envoy ${problem.envoy} ${what} ${typeNames[problem.typeUrl] ?? problem.typeUrl} ${problem.name}; the previous version keeps serving: ${problem.message}`,
      );
    }
  }
  if (status.problems.length > 0) {
    lines.push('Rejected (the last good versions keep serving)');
    for (const problem of status.problems) lines.push(...problem.diagnostics.map((d) => `  ${d}`));
  }
  return `${lines.join('\n')}\n`;
}
