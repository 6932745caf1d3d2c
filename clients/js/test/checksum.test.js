// The integrity checksum against the test vectors the Rust tests read too
// (tests/vectors/checksum.json at the repository root): the SDK and the server agree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checksum, recordHash } from '../src/checksum.js';

const vectors = JSON.parse(
  readFileSync(new URL('../../../tests/vectors/checksum.json', import.meta.url), 'utf8'),
);

test('record hashes match the shared vectors', async () => {
  assert.ok(vectors.records.length > 0);
  for (const r of vectors.records) {
    assert.equal((await recordHash(r.id, r.version)).toString(), r.hash, r.id);
  }
});

test('set checksums match the shared vectors, sums wrapping at 2^64', async () => {
  assert.ok(vectors.sets.length > 0);
  for (const set of vectors.sets) {
    assert.deepEqual(await checksum(set.records), { count: set.count, checksum: set.checksum });
  }
});

test('tombstones are not counted and order does not matter', async () => {
  const [a, b] = vectors.records;
  const one = await checksum([a, b]);
  assert.deepEqual(await checksum([b, { ...a }, { id: 'x', version: 1, deleted: true }]), one);
  assert.notEqual((await checksum([a])).checksum, one.checksum);
});
