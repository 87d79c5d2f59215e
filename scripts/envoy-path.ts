import { resolveEnvoy } from '../src/runtime/envoy-binary.ts';

/** `npm run envoy`: installs Envoy if needed; the path on stdout, what it is on stderr. */
try {
  const envoy = await resolveEnvoy();
  process.stderr.write(`envoy ${envoy.version} (${envoy.source}): ${envoy.path}\n`);
  process.stdout.write(`${envoy.path}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
