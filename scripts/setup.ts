import { cacheDir } from '../src/runtime/cache-dir.ts';
import { formatElapsed } from '../src/runtime/command-progress.ts';
import { components, type SetupComponent } from './setup/components.ts';

/**
 * `npm run setup [-- NAME...]`: installs what the tests need into the machine cache, every
 * component or the ones named. `npm test` runs it before the suites; a warm cache costs seconds.
 */
const known = Object.keys(components);
const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !known.includes(name));
if (unknown.length > 0) {
  process.stderr.write(
    `setup: unknown component(s) ${unknown.join(', ')}; known: ${known.join(', ')}\n`,
  );
  process.exit(2);
}
const names = requested.length > 0 ? requested : known;
process.stderr.write(`setup: ${names.join(', ')} into ${cacheDir()}\n`);
const failures: string[] = [];
const summary = new Map<string, string>();
const started = Date.now();

async function runInOrder(queue: readonly [string, SetupComponent][]): Promise<void> {
  for (const [name, component] of queue) {
    const componentStarted = Date.now();
    try {
      const result = await component.setup();
      summary.set(name, `${formatElapsed(Date.now() - componentStarted)}, ${result}`);
    } catch (error) {
      failures.push(name);
      summary.set(name, `FAILED after ${formatElapsed(Date.now() - componentStarted)}`);
      process.stderr.write(
        `setup ${name} (${component.what}) failed:\n${(error as Error).message}\n`,
      );
    }
  }
}

const chosen = names.flatMap((name): [string, SetupComponent][] => {
  const component = components[name];
  return component === undefined ? [] : [[name, component]];
});
// A compile takes both cores while a download mostly waits: running one of each at once
// shortens a cold setup without two compiles fighting over the cores.
await Promise.all([
  runInOrder(chosen.filter(([, component]) => component.work === 'compile')),
  runInOrder(chosen.filter(([, component]) => component.work === 'download')),
]);
process.stderr.write(
  `setup done in ${formatElapsed(Date.now() - started)}:\n` +
    names.map((name) => `  ${name}: ${summary.get(name) ?? 'not run'}`).join('\n') +
    '\n',
);
if (failures.length > 0) {
  process.stderr.write(`setup failed for: ${failures.join(', ')}\n`);
  process.exitCode = 1;
}
