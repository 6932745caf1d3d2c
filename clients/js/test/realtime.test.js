// Several clients of one tenant: offline edits merged field by field, deletes travelling as
// local deletes, catch-up after a cut WebSocket, and tokens renewed on the socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from '../src/index.js';
import { FAST, randomName, serverRecords, sleep, startServer, waitFor } from './helpers/server.js';
import { startProxy } from './helpers/proxy.js';

test('two clients edit different fields of one record offline and both end with both edits; a delete reaches the other as a local delete', async () => {
  const server = await startServer();
  const tenant = randomName();
  const token = server.token({ tenant });
  const pa = await startProxy(server.port);
  const pb = await startProxy(server.port);
  const a = createClient({ url: pa.url, token, clientId: 'app-a', WebSocket, backoff: FAST });
  const b = createClient({ url: pb.url, token, clientId: 'app-b', WebSocket, backoff: FAST });
  try {
    await a.start();
    await b.start();
    const ada = await a.put('end_user', { name: 'Ada', email: 'ada@example.com', phone: '1' });
    await waitFor(async () => (await b.get('end_user', ada.id))?.version === 1, 'b to receive the record');

    pa.setOffline(true);
    pb.setOffline(true);
    await a.update('end_user', ada.id, { phone: '2' });
    await b.update('end_user', ada.id, { email: 'ada@lovelace.org' });
    assert.equal((await a.get('end_user', ada.id))?.phone, '2', 'offline edits are local at once');
    assert.equal(await a.pending(), 1);
    assert.equal(await b.pending(), 1);
    pa.setOffline(false);
    pb.setOffline(false);

    const both = (r) => r?.phone === '2' && r?.email === 'ada@lovelace.org' && r?.sync_status === 'synced';
    await waitFor(async () => both(await a.get('end_user', ada.id)) && both(await b.get('end_user', ada.id)), 'both edits on both clients', 20000);
    const [stored] = (await serverRecords(server.url, token, ['end_user'])).end_user;
    assert.ok(both(stored));
    assert.equal(stored.version, 3);

    /** @type {any[]} */
    const seen = [];
    b.on('change', (e) => seen.push(e));
    await a.remove('end_user', ada.id);
    assert.equal(await a.get('end_user', ada.id), undefined);
    await waitFor(async () => (await b.get('end_user', ada.id)) === undefined, 'the delete to reach b');
    assert.deepEqual(await b.list('end_user'), []);
    assert.ok(seen.some((e) => e.id === ada.id && e.origin === 'remote' && e.record === undefined));
  } finally {
    await a.stop();
    await b.stop();
    await pa.close();
    await pb.close();
    await server.stop();
  }
});

test('after its WebSocket is cut while another client writes 20 changes, a client reconnects and has all 20 without a manual call', async () => {
  const server = await startServer();
  const token = server.token({ tenant: randomName() });
  const proxy = await startProxy(server.port);
  const listener = createClient({ url: proxy.url, token, clientId: 'listener', WebSocket, backoff: FAST });
  const writer = createClient({ url: server.url, token, clientId: 'writer', WebSocket: null });
  try {
    await listener.start();
    await waitFor(() => listener.status.connected, 'the first connection');
    await listener.sync();
    await waitFor(() => !listener.status.syncing, 'the catch-up round to end');
    const pullsBefore = proxy.requests('/api/client/sync/pull').length;
    proxy.refuseUpgrades = true;
    proxy.cutWebSockets();
    await waitFor(() => !listener.status.connected, 'the cut to be noticed');
    for (let i = 0; i < 20; i += 1) await writer.put('interactions', { type: 'call', title: `call ${i}` });
    await writer.sync();
    await sleep(300);
    assert.equal((await listener.list('interactions')).length, 0, 'nothing arrives while cut');
    assert.equal(proxy.requests('/api/client/sync/pull').length, pullsBefore, 'and the listener did not poll');
    proxy.refuseUpgrades = false;
    await waitFor(async () => (await listener.list('interactions')).length === 20, 'all 20 after the reconnect', 15000);
    assert.ok(listener.status.connected);
    assert.ok(proxy.upgradeCount >= 2);
  } finally {
    await listener.stop();
    await writer.stop();
    await proxy.close();
    await server.stop();
  }
});

test('a session ended by token_expired reconnects with a fresh token from getToken', async () => {
  const server = await startServer();
  const tenant = randomName();
  const proxy = await startProxy(server.port);
  let calls = 0;
  // The first token is 28 s past its exp: the server's 30 s leeway ends the session 2 s in.
  const getToken = async () => {
    calls += 1;
    return server.token({ tenant, exp: Math.floor(Date.now() / 1000) + (calls === 1 ? -28 : 3600) });
  };
  const client = createClient({ url: proxy.url, getToken, clientId: 'app-1', WebSocket, backoff: FAST });
  /** @type {boolean[]} */
  const connected = [false];
  client.on('status', (s) => {
    if (connected.at(-1) !== s.connected) connected.push(s.connected);
  });
  try {
    await client.start();
    await waitFor(() => connected.length >= 4 && client.status.connected, 'connected, dropped, connected again', 15000);
    assert.deepEqual(connected.slice(0, 4), [false, true, false, true]);
    assert.ok(calls >= 2);
    assert.ok(proxy.upgradeCount >= 2);
  } finally {
    await client.stop();
    await proxy.close();
    await server.stop();
  }
});

test('a token refreshed before it expires is sent as authenticate on the open socket', async () => {
  const server = await startServer();
  const tenant = randomName();
  const proxy = await startProxy(server.port);
  let calls = 0;
  // Expires in 65 s: the refresh is due 5 s from now, a minute before exp.
  const getToken = async () => {
    calls += 1;
    return server.token({ tenant, exp: Math.floor(Date.now() / 1000) + (calls === 1 ? 65 : 3600) });
  };
  const client = createClient({ url: proxy.url, getToken, clientId: 'app-1', WebSocket, backoff: FAST });
  try {
    await client.start();
    await waitFor(() => client.status.connected, 'connected');
    await waitFor(() => calls >= 2, 'the refresh', 10000);
    await sleep(300);
    assert.ok(client.status.connected);
    assert.equal(proxy.upgradeCount, 1, 'no reconnect');
  } finally {
    await client.stop();
    await proxy.close();
    await server.stop();
  }
});
