// The pure parts: queue coalescing, base versions, batch classification, backoff, ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, parseRetryAfter } from '../src/backoff.js';
import { SyncError } from '../src/errors.js';
import { uuidv7 } from '../src/ids.js';
import { LocalState } from '../src/local-state.js';
import { classify } from '../src/push.js';

const ID = '0190a4f3-7a3c-7d2e-9b1f-2c5e8d7a6b40';

test('queued edits of one record fold into one change, never into the batch in flight', () => {
  const state = new LocalState(() => {});
  state.write('end_user', ID, { name: 'A', email: 'a@x.io' }, 'put');
  state.write('end_user', ID, { phone: '1' }, 'update');
  assert.equal(state.pending, 1);
  assert.deepEqual(state.outbox[0].data, { name: 'A', email: 'a@x.io', phone: '1' });
  state.formBatch(100, () => 'k1');
  state.write('end_user', ID, { phone: '2' }, 'update');
  assert.equal(state.pending, 2, 'the batch in flight is left alone');
  assert.deepEqual(state.outbox[1].data, { phone: '2' }, 'only what changed is queued');
  assert.equal(state.view('end_user', ID)?.phone, '2');
});

test('a create deleted before it was ever sent leaves nothing to send', () => {
  const state = new LocalState(() => {});
  state.write('end_user', ID, { name: 'A' }, 'put');
  state.remove('end_user', ID);
  assert.equal(state.pending, 0);
  assert.equal(state.view('end_user', ID), undefined);
});

test('a write that changes nothing queues nothing', () => {
  const state = new LocalState(() => {});
  state.applyPage({ end_user: [{ id: ID, name: 'A', version: 3 }] }, 'c1');
  assert.equal(state.write('end_user', ID, { name: 'A' }, 'put'), null);
  assert.equal(state.pending, 0);
});

test('later edits of a record are rebased on the version the server gave the earlier one', () => {
  const state = new LocalState(() => {});
  state.applyPage({ end_user: [{ id: ID, name: 'A', version: 3 }] }, 'c1');
  state.write('end_user', ID, { name: 'B' }, 'update');
  const formed = state.formBatch(100, () => 'k1');
  state.write('end_user', ID, { phone: '9' }, 'update');
  assert.equal(state.outbox[1].base, 3);
  state.ackBatch(/** @type {any} */ (formed).batch, {
    data: [{ id: ID, name: 'B', version: 4 }],
    results: [{ index: 0, status: 'updated', version: 4 }],
  });
  assert.equal(state.pending, 1);
  assert.equal(state.outbox[0].base, 4);
  assert.deepEqual(state.view('end_user', ID), { id: ID, name: 'B', version: 4, phone: '9', sync_status: 'pending' });
});

test('a pulled tombstone or removal deletes the local copy; a queued edit of it shows nothing', () => {
  const state = new LocalState(() => {});
  const other = '0190a4f3-7a3c-7d2e-9b1f-2c5e8d7a6b41';
  state.applyPage({ end_user: [{ id: ID, name: 'A', version: 1 }, { id: other, name: 'B', version: 1 }] }, 'c1');
  state.write('end_user', other, { name: 'B2' }, 'update');
  state.applyPage({ end_user: [{ id: ID, deleted: true, version: 2 }, { id: other, deleted: true, removed: true }] }, 'c2');
  assert.equal(state.view('end_user', ID), undefined);
  assert.equal(state.view('end_user', other), undefined);
  assert.deepEqual(state.list('end_user'), []);
  assert.equal(state.cursor, 'c2');
});

test('a refusal naming changes rejects them; one naming none splits the batch; 401, 404 and 5xx retry', () => {
  const e = (status, code, details = []) => new SyncError('x', { status, code, details });
  assert.deepEqual(classify(e(422, 'validation_failed', [{ index: 1, message: 'm' }, { index: 1, message: 'n' }, { index: 3, message: 'o' }]), 5), { kind: 'reject', indexes: [1, 3] });
  assert.deepEqual(classify(e(403, 'forbidden'), 4), { kind: 'split' });
  assert.deepEqual(classify(e(403, 'forbidden'), 1), { kind: 'reject', indexes: [0] });
  assert.deepEqual(classify(e(413, 'payload_too_large'), 8), { kind: 'split' });
  assert.deepEqual(classify(e(422, 'idempotency_key_reused'), 8), { kind: 'rekey' });
  for (const status of [0, 401, 404, 429, 500, 503]) assert.deepEqual(classify(e(status, 'x'), 3), { kind: 'retry' });
  assert.deepEqual(classify(new TypeError('boom'), 3), { kind: 'retry' });
});

test('backoff doubles from 1 s to 30 s with jitter and never undercuts Retry-After', () => {
  const b = new Backoff();
  const delays = Array.from({ length: 8 }, () => b.next());
  assert.ok(delays[0] >= 800 && delays[0] <= 1200);
  assert.ok(delays[1] >= 1600 && delays[1] <= 2400);
  assert.ok(delays[7] >= 24000 && delays[7] <= 36000);
  b.reset();
  assert.ok(b.next(5000) >= 5000);
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter(new Date(Date.now() + 3000).toUTCString(), Date.now()) !== undefined, true);
  assert.equal(parseRetryAfter(null), undefined);
});

test('uuidv7 ids are UUIDs of version 7 that sort in creation order', () => {
  const ids = Array.from({ length: 1000 }, () => uuidv7());
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});
