import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { withComponentLock } from '../../scripts/setup/cached-install.ts';

let cache: string;
const previous = process.env.SWITCHYARD_CACHE;

before(async () => {
  cache = await mkdtemp(join(tmpdir(), 'switchyard-setup-lock-'));
  process.env.SWITCHYARD_CACHE = cache;
});

after(async () => {
  if (previous === undefined) delete process.env.SWITCHYARD_CACHE;
  else process.env.SWITCHYARD_CACHE = previous;
  await rm(cache, { recursive: true, force: true });
});

test('setup holds the locks of two components at once and releases both', async () => {
  const order: string[] = [];
  await Promise.all(
    ['kubernetes', 'python-servers'].map((component) =>
      withComponentLock(component, async () => {
        order.push(`${component} locked`);
        assert.ok(existsSync(join(cache, `${component}.lock`)));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }),
    ),
  );
  assert.deepEqual(order.sort(), ['kubernetes locked', 'python-servers locked']);
  assert.equal(existsSync(join(cache, 'kubernetes.lock')), false);
  assert.equal(existsSync(join(cache, 'python-servers.lock')), false);
});

test('a second holder of the same component waits until the first releases', async () => {
  const events: string[] = [];
  let releaseFirst: () => void = () => undefined;
  const first = withComponentLock('helm', async () => {
    events.push('first in');
    await new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    events.push('first out');
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const second = withComponentLock('helm', () => {
    events.push('second in');
    return Promise.resolve();
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(events, ['first in']);
  releaseFirst();
  await Promise.all([first, second]);
  assert.deepEqual(events, ['first in', 'first out', 'second in']);
});
