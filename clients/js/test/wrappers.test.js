// The seed-compatible wrappers: SyncClient (pushChanges, pullData, pullPendingData) and
// RealtimeSync (subscribe to data_update per type).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RealtimeSync, SyncClient } from '../src/index.js';
import { FAST, randomName, startServer, waitFor } from './helpers/server.js';

test('SyncClient pushes the map form, pulls by cursor and reads pending records', async () => {
  const server = await startServer();
  const token = server.token({ tenant: randomName() });
  try {
    const sync = new SyncClient(server.url, token, { clientId: 'seed-app' });
    const pushed = await sync.pushChanges({ end_user: [{ id: null, name: 'John Doe', email: 'john@example.com' }] });
    assert.equal(pushed.success, true);
    assert.equal(pushed.results[0].status, 'created');
    const first = await sync.pullData(['end_user', 'interactions']);
    assert.equal(first.data.end_user.length, 1);
    assert.deepEqual(first.data.interactions, []);
    assert.ok(sync.cursor);
    const again = await sync.pullData(['end_user']);
    assert.equal(again.data.end_user.length, 0, 'the kept cursor skips what was pulled');

    const rest = await fetch(`${server.url}/api/end_user`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'From the back office' }),
    });
    assert.equal(rest.status, 201);
    const pending = await sync.pullPendingData(['end_user']);
    assert.deepEqual(pending.data.end_user.map((r) => r.name), ['From the back office']);
  } finally {
    await server.stop();
  }
});

test('RealtimeSync hands each changed record of a subscribed type to its callback', async () => {
  const server = await startServer();
  const token = server.token({ tenant: randomName() });
  const realtime = new RealtimeSync({ url: server.url, token, clientId: 'seed-listener', WebSocket, backoff: FAST });
  /** @type {any[]} */
  const updates = [];
  try {
    const unsubscribe = realtime.subscribe('end_user', (u) => updates.push(u));
    realtime.connect();
    await waitFor(() => realtime.status === 'connected', 'connected');
    const writer = new SyncClient(server.url, token, { clientId: 'seed-writer' });
    // The subscription is in force once the server has answered it; give it a moment.
    await new Promise((r) => setTimeout(r, 200));
    await writer.pushChanges({ end_user: [{ name: 'Grace' }] });
    await waitFor(() => updates.length === 1, 'the data_update');
    assert.equal(updates[0].type, 'end_user');
    assert.equal(updates[0].action, 'create');
    assert.equal(updates[0].data.name, 'Grace');
    unsubscribe();
    realtime.disconnect();
    assert.equal(realtime.status, 'disconnected');
  } finally {
    realtime.disconnect();
    await server.stop();
  }
});
