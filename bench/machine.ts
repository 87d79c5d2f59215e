import { cpus, totalmem, platform, release } from 'node:os';

/** What the numbers were measured on; every result file carries it. */
export function machineDescription(): Record<string, string | number> {
  const cores = cpus();
  return {
    cpu: cores[0]?.model ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}
