import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../support/ports.ts';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

test('`switchyard executor --workers 2` serves from two processes and stops on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', main, 'executor', '--workers', '2', '--port', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`two workers did not start within 20 s:\n${output}`));
      }, 20_000);
      const watch = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if ((output.match(/executor pid \d+ on/g) ?? []).length === 2) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
    });
    child.kill('SIGTERM');
    const stopped = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => {
        setTimeout(() => {
          resolve(false);
        }, 10_000).unref();
      }),
    ]);
    assert.ok(stopped, 'the executor and its workers exit within 10 s of SIGTERM');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
