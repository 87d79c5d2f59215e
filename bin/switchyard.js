#!/usr/bin/env node
// Runs the compiled CLI in dist/, which `npm run build` makes; `npm run switchyard -- <command>`
// runs the TypeScript sources instead, for development.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'switchyard: dist/ is missing: run `npm run build` first\n' +
      '(or run the sources with tsx: `npm run switchyard -- <command>`)\n',
  );
  process.exit(1);
}
await import(main.href);
