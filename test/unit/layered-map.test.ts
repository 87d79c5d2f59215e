import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LayeredMap } from '../../src/xds/layered-map.ts';

function sorted(map: ReadonlyMap<string, number>): [string, number][] {
  return [...map].sort(([a], [b]) => a.localeCompare(b));
}

test('an edit reads as the map with the entries set and removed, and leaves its source as it was', () => {
  const base = new Map(
    Array.from({ length: 1000 }, (_, i): [string, number] => [`k${String(i)}`, i]),
  );
  const edited = LayeredMap.edit(
    base,
    new Map([
      ['k1', -1],
      ['new', 7],
    ]),
    ['k2', 'absent'],
  );
  assert.equal(edited.size, 1000);
  assert.equal(edited.get('k1'), -1);
  assert.equal(edited.get('new'), 7);
  assert.equal(edited.get('k2'), undefined);
  assert.equal(edited.has('k2'), false);
  assert.equal(edited.has('k3'), true);
  const expected = new Map(base);
  expected.set('k1', -1).set('new', 7).delete('k2');
  assert.deepEqual(sorted(edited), sorted(expected));
  assert.deepEqual([...edited.keys()].sort(), [...expected.keys()].sort());
  assert.deepEqual([...edited.values()].sort(), [...expected.values()].sort());
  const seen: string[] = [];
  edited.forEach((_, key) => seen.push(key));
  assert.equal(seen.length, 1000);
  assert.equal(base.get('k1'), 1);
  assert.equal(base.size, 1000);
});

test('edits of edits agree with a plain map whatever the order of sets and removals, flattened or not', () => {
  let map: ReadonlyMap<string, number> = new Map([['a', 1]]);
  const plain = new Map(map);
  const kept: [ReadonlyMap<string, number>, [string, number][]][] = [];
  for (let step = 0; step < 300; step++) {
    const key = `k${String((step * 7) % 53)}`;
    if (step % 3 === 2) {
      map = LayeredMap.edit(map, new Map<string, number>(), [key]);
      plain.delete(key);
    } else {
      map = LayeredMap.edit(map, new Map([[key, step]]), []);
      plain.set(key, step);
    }
    assert.equal(map.size, plain.size);
    assert.equal(map.get(key), plain.get(key));
    kept.push([map, sorted(plain)]);
  }
  // Every earlier map still reads as it did when it was made.
  for (const [earlier, entries] of kept) assert.deepEqual(sorted(earlier), entries);
});

test('a key both set and removed in one edit ends up removed', () => {
  const edited = LayeredMap.edit(new Map([['a', 1]]), new Map([['b', 2]]), ['b']);
  assert.equal(edited.has('b'), false);
  assert.equal(edited.size, 1);
});
