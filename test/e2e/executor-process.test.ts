import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePortRun } from '../support/ports.ts';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

test('`switchyard executor --workers 2` serves from two processes on two ports and stops on SIGTERM', async () => {
  const port = await freePortRun(2);
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
    const ports = [...output.matchAll(/executor pid \d+ on [^:]+:(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(
      ports.sort((a, b) => a - b),
      [port, port + 1],
    );
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

test('executor flags that cannot work are refused with the reason', async () => {
  for (const [flags, problem] of [
    [
      ['executor', '--workers', '2', '--port', '0'],
      /--port\/--workers: several workers need a fixed first port/,
    ],
    [
      ['executor', '--workers', '2', '--port', '65535'],
      /--port\/--workers: ports 65535-65536 pass 65535/,
    ],
    [
      ['validate', '--executor-address', 'not a host', 'examples'],
      /--executor-address: "not a host" is neither an IP address nor a DNS name/,
    ],
    [
      ['validate', '--executor-port', '65535', '--executor-workers', '3', 'examples'],
      /--executor-port\/--executor-workers: ports 65535-65537 pass 65535/,
    ],
  ] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1, output);
    assert.match(output, problem);
  }
});
