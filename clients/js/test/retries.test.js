// Failures on the way: a lost answer, a refusal of one change, 429/503 with Retry-After, and an
// expired token. The queue never wedges and nothing is applied twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../src/index.js';
import { FAST, randomName, serverRecords, startServer, waitFor } from './helpers/server.js';
import { startProxy } from './helpers/proxy.js';

const PUSH = '/api/client/sync/push';

test('a push whose answer is lost after the server committed it is retried with its key and applies nothing again', async () => {
  const server = await startServer();
  const proxy = await startProxy(server.port);
  const token = server.token({ tenant: randomName() });
  const client = createClient({ url: proxy.url, token, clientId: 'app-1', WebSocket: null, backoff: FAST });
  try {
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push((await client.put('end_user', { name: `user ${i}` })).id);
    await client.sync();
    for (const id of ids) await client.update('end_user', id, { phone: '555-0100' });
    let dropped = false;
    proxy.hook = (req) => {
      if (req.path !== PUSH || dropped) return undefined;
      dropped = true;
      return { dropAnswer: true };
    };
    await assert.rejects(client.sync(), (e) => /** @type {any} */ (e).code === 'network');
    assert.equal(await client.pending(), 5, 'unacknowledged changes stay queued');
    await client.sync();

    const pushes = proxy.requests(PUSH);
    const [lost, retried] = pushes.slice(-2);
    assert.equal(lost.upstreamStatus, 200, 'the server had applied the lost push');
    assert.equal(retried.headers['idempotency-key'], lost.headers['idempotency-key']);
    assert.deepEqual(retried.body, lost.body, 'the same batch');
    assert.equal(retried.answerHeaders?.['idempotent-replayed'], 'true');
    const stored = (await serverRecords(server.url, token, ['end_user'])).end_user;
    assert.equal(stored.length, 5);
    assert.ok(stored.every((r) => r.version === 2 && r.phone === '555-0100'), 'each update applied once');
    assert.equal(await client.pending(), 0);
    assert.ok((await client.list('end_user')).every((r) => r.version === 2));
  } finally {
    await client.stop();
    await proxy.close();
    await server.stop();
  }
});

test('a change the server refuses is rejected, leaves the queue, and the changes after it still arrive', async () => {
  const server = await startServer();
  const token = server.token({ tenant: randomName() });
  const client = createClient({ url: server.url, token, clientId: 'app-1', WebSocket: null, backoff: FAST });
  /** @type {any[]} */
  const rejected = [];
  client.on('rejected', (e) => rejected.push(e));
  try {
    const kept = await client.put('end_user', { name: 'Kept', email: 'kept@example.com' });
    await client.sync();
    const a = await client.put('end_user', { name: 'A' });
    const bad = await client.put('end_user', { name: 'Bad', email: 'not an email' });
    await client.update('end_user', kept.id, { email: 'also not an email' });
    const c = await client.put('end_user', { name: 'C' });
    await client.sync();

    assert.deepEqual(rejected.map((e) => e.id).sort(), [bad.id, kept.id].sort());
    for (const e of rejected) {
      assert.equal(e.type, 'end_user');
      assert.equal(e.error.status, 422);
      assert.equal(e.error.code, 'validation_failed');
      assert.equal(e.error.details[0].field, 'email');
      assert.ok(e.change.seq > 0);
    }
    assert.equal(await client.pending(), 0, 'the queue did not wedge');
    assert.equal(await client.get('end_user', bad.id), undefined, 'a refused create is gone locally');
    assert.equal((await client.get('end_user', kept.id))?.email, 'kept@example.com', 'a refused edit falls back to the server copy');
    const names = (await serverRecords(server.url, token, ['end_user'])).end_user.map((r) => r.name);
    assert.deepEqual(names, ['Kept', 'A', 'C']);
    assert.ok(await client.get('end_user', a.id));
    assert.ok(await client.get('end_user', c.id));
  } finally {
    await client.stop();
    await server.stop();
  }
});

test('429 and 503 are retried after their Retry-After, with the same key', async () => {
  const server = await startServer();
  const proxy = await startProxy(server.port);
  const token = server.token({ tenant: randomName() });
  const client = createClient({ url: proxy.url, token, clientId: 'app-1', WebSocket: null, backoff: FAST });
  let n = 0;
  proxy.hook = (req) => {
    if (req.path !== PUSH) return undefined;
    n += 1;
    if (n === 1) return { status: 429, headers: { 'retry-after': '2' }, body: { success: false, error: { code: 'rate_limited', message: 'slow down' } } };
    if (n === 2) return { status: 503, headers: { 'retry-after': '1' }, body: { success: false, error: { code: 'unavailable', message: 'db down' } } };
    return undefined;
  };
  try {
    await client.start();
    await client.put('end_user', { name: 'Patient' });
    await waitFor(() => client.status.pending === 0, 'the push to go through', 15000);
    const [first, second, third] = proxy.requests(PUSH);
    assert.ok(second.at - /** @type {number} */ (first.answeredAt) >= 1990, `waited ${second.at - (first.answeredAt ?? 0)} ms after 429`);
    assert.ok(third.at - /** @type {number} */ (second.answeredAt) >= 990, `waited ${third.at - (second.answeredAt ?? 0)} ms after 503`);
    assert.equal(new Set([first, second, third].map((r) => r.headers['idempotency-key'])).size, 1);
    assert.equal(third.status, 200);
    assert.equal((await serverRecords(server.url, token, ['end_user'])).end_user.length, 1);
  } finally {
    await client.stop();
    await proxy.close();
    await server.stop();
  }
});

test('a 401 gets one new token from getToken and the request goes through', async () => {
  const server = await startServer();
  const tenant = randomName();
  let calls = 0;
  const getToken = async () => {
    calls += 1;
    // The first token expired an hour ago (beyond the server's 30 s leeway).
    const exp = Math.floor(Date.now() / 1000) + (calls === 1 ? -3600 : 3600);
    return server.token({ tenant, exp });
  };
  const client = createClient({ url: server.url, getToken, token: 'ignored: getToken wins', clientId: 'app-1', WebSocket: null, backoff: FAST });
  try {
    await client.put('end_user', { name: 'Refreshed' });
    await client.sync();
    assert.equal(calls, 2, 'one token at start, one refresh');
    assert.equal(await client.pending(), 0);
    const stored = (await serverRecords(server.url, server.token({ tenant }), ['end_user'])).end_user;
    assert.equal(stored.length, 1);
  } finally {
    await client.stop();
    await server.stop();
  }
});
