import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import type { EnvoyResource, ResourceSet } from '../../src/envoy/resource-set.ts';
import {
  CLUSTER,
  ENDPOINT,
  EXTENSION_CONFIG,
  LISTENER,
  ROUTE,
  SCOPED_ROUTE,
} from '../../src/envoy/type-urls.ts';

const run = promisify(execFile);

type Json = Record<string, unknown>;

/** A resource as a message inside another: without the "@type" only an Any carries. */
function inline(resource: EnvoyResource | undefined, what: string): Json {
  if (!resource) throw new Error(`the compiled resources lack ${what}`);
  const { '@type': _type, ...rest } = resource;
  return rest;
}

/**
 * The compiled resources as one static bootstrap: every resource Envoy would
 * get over xDS, inline where xDS would name it (endpoints in their clusters,
 * route tables in their scopes, the body filter's configuration in the
 * listener), so `envoy --mode validate` checks them all in one run.
 */
export function staticBootstrap(resources: ResourceSet): Json {
  const of = (type: string) => resources.get(type as never) ?? new Map<string, EnvoyResource>();
  const routes = of(ROUTE);
  const endpoints = of(ENDPOINT);
  const extensions = of(EXTENSION_CONFIG);
  const clusters = [...of(CLUSTER).values()].map((cluster) => {
    const { eds_cluster_config: _eds, ...rest } = inline(cluster, 'a cluster');
    if (cluster.type !== 'EDS') return rest;
    const name = String(cluster.name);
    return {
      ...rest,
      type: 'STATIC',
      load_assignment: inline(endpoints.get(name), `the endpoints of ${name}`),
    };
  });
  const scopes = [...of(SCOPED_ROUTE).values()].map((scope) => {
    const { route_configuration_name: table, ...rest } = inline(scope, 'a scope');
    return {
      ...rest,
      route_configuration: inline(routes.get(String(table)), `table ${String(table)}`),
    };
  });
  const listeners = [...of(LISTENER).values()].map((listener) => {
    const copy = structuredClone(inline(listener, 'a listener')) as {
      filter_chains: { filters: { typed_config: Json }[] }[];
    };
    for (const chain of copy.filter_chains) {
      for (const filter of chain.filters) {
        const manager = filter.typed_config;
        const rds = manager.rds as { route_config_name: string } | undefined;
        if (rds) {
          delete manager.rds;
          manager.route_config = inline(routes.get(rds.route_config_name), rds.route_config_name);
        }
        const scoped = manager.scoped_routes as Json | undefined;
        if (scoped) {
          delete scoped.scoped_rds;
          scoped.scoped_route_configurations_list = { scoped_route_configurations: scopes };
        }
        const httpFilters = (manager.http_filters ?? []) as Json[];
        for (const httpFilter of httpFilters) {
          if (!httpFilter.config_discovery) continue;
          delete httpFilter.config_discovery;
          const config = extensions.get(String(httpFilter.name));
          httpFilter.typed_config = inline(
            config,
            `extension ${String(httpFilter.name)}`,
          ).typed_config;
        }
      }
    }
    return copy;
  });
  const base = bootstrapConfig({
    nodeId: 'envoy-accepts',
    nodeCluster: 'switchyard',
    xdsAddress: '127.0.0.1',
    xdsPort: 1,
    adminPort: 0,
  }) as { dynamic_resources: Json; static_resources: { clusters: Json[] } };
  // ADS stays configured (the scoped routes' table source names it); nothing comes by it.
  return {
    ...base,
    dynamic_resources: { ads_config: base.dynamic_resources.ads_config },
    static_resources: { listeners, clusters: [...base.static_resources.clusters, ...clusters] },
  };
}

/** Envoy's verdict on a bootstrap: undefined when it accepts it, else what it said. */
export async function envoyRefusal(envoy: string, bootstrap: Json): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-envoy-accepts-'));
  const file = join(dir, 'bootstrap.json');
  writeFileSync(file, JSON.stringify(bootstrap));
  try {
    await run(envoy, ['--mode', 'validate', '-c', file, '--log-level', 'critical'], {
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return undefined;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}`.trim() || (error as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
