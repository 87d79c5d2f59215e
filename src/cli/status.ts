import { request } from 'undici';
import type { ControlPlaneStatus } from '../controller/control-plane.ts';

const typeNames: Readonly<Record<string, string>> = {
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'CDS',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': 'EDS',
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'LDS',
  'type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration': 'SRDS',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'RDS',
  'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig': 'ECDS',
};

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
  }
  lines.push(`Graphs (${String(status.graphs.length)})`);
  for (const graph of status.graphs) {
    const runs =
      graph.executors.length === 0
        ? 'Envoy alone'
        : `executor from ${graph.executors.map((e) => `${e.entry} (${e.transport})`).join(', ')}`;
    lines.push(
      `  ${graph.id}  group ${graph.group}  ${runs}  programmed on ${String(graph.programmedOn)}/${String(graph.envoys)} Envoy(s) at routes ${graph.version}  (${graph.source})`,
    );
  }
  if (status.problems.length > 0) {
    lines.push('Rejected (the last good versions keep serving)');
    for (const problem of status.problems) lines.push(...problem.diagnostics.map((d) => `  ${d}`));
  }
  return `${lines.join('\n')}\n`;
}

/** `switchyard status`: what the control plane at `url` knows, as a table. */
export async function statusCommand(url: string, json: boolean): Promise<number> {
  let status: ControlPlaneStatus;
  try {
    const response = await request(`${url.replace(/\/$/, '')}/status`);
    status = (await response.body.json()) as ControlPlaneStatus;
  } catch (error) {
    process.stderr.write(
      `cannot reach the control plane's status endpoint at ${url}: ${(error as Error).message}\n` +
        '    hint: is `switchyard serve` running? It serves status on 127.0.0.1:18001 unless --status-port says otherwise\n',
    );
    return 1;
  }
  process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
  return 0;
}
