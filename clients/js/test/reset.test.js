// 410 resync_required: the server no longer knows the client's cursor (a restored backup, a new
// epoch). The client drops its copy, pulls from the start, and keeps its unsent changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../src/index.js';
import { randomName, randomSecret, serverRecords, startServer } from './helpers/server.js';
import { startProxy } from './helpers/proxy.js';

test('a 410 on pull rebuilds the local records from the start and keeps unsent changes', async () => {
  const secret = randomSecret();
  const before = await startServer({ secret });
  const after = await startServer({ secret });
  const tenant = randomName();
  const token = before.token({ tenant });
  const proxy = await startProxy(before.port);
  const client = createClient({ url: proxy.url, token, clientId: 'app-1', WebSocket: null });
  try {
    const x = await client.put('end_user', { name: 'X' });
    const y = await client.put('end_user', { name: 'Y' });
    await client.sync();
    // The "restored" server knows W only.
    const other = createClient({ url: after.url, token, clientId: 'other', WebSocket: null });
    const w = await other.put('end_user', { name: 'W' });
    await other.sync();
    await other.stop();

    proxy.target = after.port;
    let answered410 = false;
    /** @type {string | undefined} */
    let zId;
    proxy.hook = async (req) => {
      if (req.path !== '/api/client/sync/pull' || !req.body?.cursor || answered410) return undefined;
      answered410 = true;
      // A write made while the doomed pull is on its way.
      zId = (await client.put('end_user', { name: 'Z' })).id;
      return { status: 410, body: { success: false, error: { code: 'resync_required', message: 'the cursor is of another epoch' } } };
    };
    /** @type {any[]} */
    const changes = [];
    client.on('change', (e) => changes.push(e));
    await client.sync();

    const pulls = proxy.requests('/api/client/sync/pull');
    assert.equal(pulls.at(-2)?.status, 410);
    assert.equal(pulls.at(-1)?.body.cursor, undefined, 'pulled again from the start');
    const local = (await client.list('end_user')).map((r) => r.name).sort();
    assert.deepEqual(local, ['W', 'Z'], 'X and Y dropped, W pulled, Z kept');
    assert.equal(await client.pending(), 1, 'the unsent change is still queued');
    assert.equal((await client.get('end_user', /** @type {string} */ (zId)))?.sync_status, 'pending');
    assert.ok(changes.some((e) => e.id === x.id && e.record === undefined));
    assert.ok(changes.some((e) => e.id === y.id && e.record === undefined));
    assert.ok(changes.some((e) => e.id === w.id && e.record?.name === 'W'));

    await client.sync();
    assert.equal(await client.pending(), 0);
    const stored = (await serverRecords(after.url, token, ['end_user'])).end_user.map((r) => r.name);
    assert.deepEqual(stored, ['W', 'Z']);
  } finally {
    await client.stop();
    await proxy.close();
    await before.stop();
    await after.stop();
  }
});
