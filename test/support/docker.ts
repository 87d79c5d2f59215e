import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { DockerEngine } from '../../scripts/setup/docker-engine.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

/** `docker run` in the foreground, as a server process: SIGTERM reaches the container. */
export function startContainer(
  engine: DockerEngine,
  name: string,
  args: readonly string[],
): ServerProcess {
  return startServerProcess(name, 'docker', ['run', ...args], { env: engine.env });
}

/** The image's tag for this checkout: the chart's appVersion, as the chart would pull it. */
export async function chartAppVersion(chartDir: string): Promise<string> {
  const chart = parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8')) as {
    appVersion?: string;
  };
  if (chart.appVersion === undefined) throw new Error(`${chartDir}/Chart.yaml has no appVersion`);
  return chart.appVersion;
}
