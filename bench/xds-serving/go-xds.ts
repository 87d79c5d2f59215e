import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * bench/go-xds, go-control-plane serving Switchyard's resources, built with
 * the machine's Go toolchain into .cache (never committed), again whenever
 * its source changes. Its modules are the versions go.mod and go.sum pin,
 * from the Go module proxy.
 */
const run = promisify(execFile);
const source = join(import.meta.dirname, '..', 'go-xds');
const cacheDir = join(import.meta.dirname, '..', '..', '.cache', 'go-xds');

export async function goXdsPath(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of readdirSync(source).sort())
    hash.update(file).update(readFileSync(join(source, file)));
  const binary = join(cacheDir, hash.digest('hex').slice(0, 16), 'go-xds');
  if (existsSync(binary)) return binary;
  mkdirSync(join(binary, '..'), { recursive: true });
  const started = performance.now();
  process.stdout.write('building bench/go-xds (go-control-plane) with go build...');
  try {
    await run('go', ['build', '-trimpath', '-mod=readonly', '-o', binary, '.'], {
      cwd: source,
      env: { ...process.env, GOTOOLCHAIN: 'local' },
      maxBuffer: 16 * 1024 * 1024,
    });
    process.stdout.write(` done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    process.stdout.write(' failed\n');
    throw new Error(`could not build bench/go-xds (needs Go 1.26 on PATH): ${String(error)}`);
  }
  return binary;
}
