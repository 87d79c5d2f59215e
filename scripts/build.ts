import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  ENVOY_DESCRIPTOR_PATH,
  envoyDescriptor,
  parseEnvoyProtos,
} from '../src/protos/envoy-protos.ts';

/**
 * `npm run build`: the production build bin/switchyard.js runs. tsc compiles
 * src/ to dist/ (tsconfig.build.json; imports of .ts become .js), and
 * Envoy's protos, parsed once here, are written beside the compiled loader
 * as a JSON descriptor, which starts a process in a fraction of the time the
 * parse takes. dist/ is rebuilt from nothing, so nothing deleted from src/
 * lingers in it.
 */
const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const started = performance.now();
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
// Files the sources read beside themselves (the status page's HTML), which tsc does not copy.
for (const asset of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
  if (asset.endsWith('.html')) cpSync(join(root, 'src', asset), join(dist, asset));
}
// Where the compiled loader looks for it: the same place under dist/ as under src/.
writeFileSync(
  join(dist, relative(join(root, 'src'), ENVOY_DESCRIPTOR_PATH)),
  JSON.stringify(envoyDescriptor(parseEnvoyProtos())),
);
process.stdout.write(`built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
