import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

/**
 * The lint guards bite: in a small project with the repository's own lint
 * configuration, a clean layout passes, and a planted cycle, an import
 * against the pipeline's direction, I/O in a pure stage and a test that
 * imports src/cli are each reported, and the Kubernetes client outside the
 * Kubernetes source and the controller.
 */

const repo = join(import.meta.dirname, '..', '..');

const clean = {
  'src/spec/names.ts': `export function shout(name: string): string {\n  return name.toUpperCase();\n}\n`,
  'src/plan/greeting.ts': `import { shout } from '../spec/names.ts';\n\nexport function greeting(name: string): string {\n  return \`hello \${shout(name)}\`;\n}\n`,
  'src/executor/interpreter/answer.ts': `import { greeting } from '../../plan/greeting.ts';\n\nexport function answer(): string {\n  return greeting('envoy');\n}\n`,
  'src/cli/flags.ts': `export const verbose = false;\n`,
  'src/sources/kubernetes/config.ts': `import { KubeConfig } from '@kubernetes/client-node';\n\nexport const config = new KubeConfig();\n`,
};

const planted = {
  'src/graph/left.ts': `import { right } from './right.ts';\n\nexport function left(): number {\n  return right() + 1;\n}\n`,
  'src/graph/right.ts': `import { left } from './left.ts';\n\nexport function right(): number {\n  return left() - 1;\n}\n`,
  'src/spec/upward.ts': `import { greeting } from '../plan/greeting.ts';\n\nexport const upward = greeting('spec');\n`,
  'src/executor/interpreter/reads-disk.ts': `import { readFileSync } from 'node:fs';\n\nexport const disk = readFileSync('/dev/null', 'utf8');\n`,
  'test/unit/uses-cli.test.ts': `import { verbose } from '../../src/cli/flags.ts';\n\nexport const quiet = !verbose;\n`,
  'src/runtime/kube.ts': `import { KubeConfig } from '@kubernetes/client-node';\n\nexport const config = new KubeConfig();\n`,
};

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/** Every problem ESLint reports in `dir`, as "file: rule". */
async function problems(dir: string): Promise<string[]> {
  const results = await new ESLint({ cwd: dir, errorOnUnmatchedPattern: false }).lintFiles([
    'src',
    'test',
  ]);
  return results
    .flatMap((result) =>
      result.messages.map(
        (message) => `${relative(dir, result.filePath)}: ${message.ruleId ?? message.message}`,
      ),
    )
    .sort();
}

test('lint reports a cycle, a forbidden cross-folder import, I/O in a pure stage, a test importing src/cli and the Kubernetes client out of place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-lint-'));
  try {
    for (const file of ['eslint.config.js', 'tsconfig.json', 'package.json']) {
      copyFileSync(join(repo, file), join(dir, file));
    }
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    write(dir, clean);
    assert.deepEqual(await problems(dir), [], 'the clean layout passes');
    write(dir, planted);
    assert.deepEqual(await problems(dir), [
      'src/executor/interpreter/reads-disk.ts: no-restricted-imports',
      'src/graph/left.ts: import-x/no-cycle',
      'src/graph/right.ts: import-x/no-cycle',
      'src/runtime/kube.ts: no-restricted-imports',
      'src/spec/upward.ts: import-x/no-restricted-paths',
      'test/unit/uses-cli.test.ts: import-x/no-restricted-paths',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
