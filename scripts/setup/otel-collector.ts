import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runWithProgress } from '../../src/runtime/command-progress.ts';
import { ensureCached, installedDir, say, type CachedInstall } from './cached-install.ts';
import { checkGo, go, goEnvironment } from './go-toolchain.ts';

/** The collector's core release; its confmap providers are versioned v1.<n> alongside it. */
export const collectorVersion = 'v0.165.0';
const providerVersion = 'v1.71.0';

const install: CachedInstall = { component: 'otel-collector', stamp: `${collectorVersion}-r1` };

function otelCollectorPath(dir: string): string {
  return join(dir, 'bin', 'otelcol-switchyard');
}

export function otelCollectorBinary(): string {
  return otelCollectorPath(installedDir(install));
}

const core = (path: string): { gomod: string } => ({
  gomod: `go.opentelemetry.io/collector/${path} ${collectorVersion}`,
});
const provider = (name: string): { gomod: string } => ({
  gomod: `go.opentelemetry.io/collector/confmap/provider/${name} ${providerVersion}`,
});

/**
 * A minimal distribution made by the collector's own builder (ocb): OTLP in (gRPC and HTTP),
 * the debug exporter, and contrib's file exporter so tests read what arrived.
 */
function builderConfig(outputPath: string) {
  return {
    dist: {
      module: 'switchyard.test/otelcol',
      name: 'otelcol-switchyard',
      description: 'OpenTelemetry Collector for Switchyard tests',
      output_path: outputPath,
      version: collectorVersion.slice(1),
    },
    receivers: [core('receiver/otlpreceiver')],
    exporters: [
      core('exporter/debugexporter'),
      {
        gomod: `github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter ${collectorVersion}`,
      },
    ],
    processors: [core('processor/batchprocessor')],
    providers: [provider('envprovider'), provider('fileprovider'), provider('yamlprovider')],
    telemetry: {
      ...core('service'),
      import: 'go.opentelemetry.io/collector/service/telemetry/otelconftelemetry',
    },
  };
}

/**
 * The builder's own module step runs `go mod tidy`, which also fetches the components' test
 * dependencies, and the proxy refuses one of contrib's (otlpencodingextension at v0.16x). A go.mod
 * listing the components, completed by `go build` with -mod=mod, fetches only what is built.
 */
function distributionGoMod(config: ReturnType<typeof builderConfig>): string {
  const modules = [
    ...config.receivers,
    ...config.exporters,
    ...config.processors,
    ...config.providers,
    config.telemetry,
  ].map((component) => component.gomod);
  return `module ${config.dist.module}\n\ngo 1.26\n\nrequire (\n${modules.map((m) => `\t${m}\n`).join('')})\n`;
}

async function build(dir: string, work: string): Promise<void> {
  say(install.component, `go: ${await checkGo(install.component)}`);
  const env = goEnvironment(work, { GOBIN: join(work, 'bin') });
  await go(['install', '-v', `go.opentelemetry.io/collector/cmd/builder@${collectorVersion}`], {
    label: `setup otel-collector: go install the collector builder ${collectorVersion}`,
    cwd: work,
    env,
  });
  const configPath = join(work, 'builder-config.yaml');
  const dist = join(work, 'dist');
  const config = builderConfig(dist);
  await writeFile(configPath, stringify(config));
  await runWithProgress(
    join(work, 'bin', 'builder'),
    ['--config', configPath, '--skip-get-modules', '--skip-compilation'],
    { label: 'setup otel-collector: builder generates the distribution', cwd: work, env },
  );
  await writeFile(join(dist, 'go.mod'), distributionGoMod(config));
  await go(['build', '-v', '-trimpath', '-ldflags', '-s -w', '-o', otelCollectorPath(dir), '.'], {
    label: `setup otel-collector: go build the collector ${collectorVersion}`,
    cwd: dist,
    env,
  });
}
/** An OpenTelemetry Collector built from the Go module proxy. */
export async function setupOtelCollector(): Promise<string> {
  const built = await ensureCached(install, build);
  return `${built ? 'built' : 'cached'}: ${otelCollectorBinary()}`;
}
