// The hooks re-render on local writes and on changes from the server, rendered with
// react-test-renderer in Node (no browser), against a real syncd.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElement } from 'react';
import { act, create } from 'react-test-renderer';
import WebSocket from 'ws';
import { createClient } from '@syncd/client';
import { useRecord, useRecords, useSyncStatus } from '../src/index.js';
import { FAST, randomName, startServer, waitFor } from '../../js/test/helpers/server.js';

// react-test-renderer 19 warns that it is deprecated unless it believes it runs React Native tests.
/** @type {any} */ (globalThis).IS_REACT_NATIVE_TEST_ENVIRONMENT = true;
/** @type {any} */ (globalThis).IS_REACT_ACT_ENVIRONMENT = true;

/** @param {{ client: any, selected?: string, renders: any[] }} props */
function Users({ client, selected, renders }) {
  const status = useSyncStatus(client);
  const users = useRecords(client, 'end_user');
  const one = useRecord(client, 'end_user', selected);
  renders.push({ pending: status.pending, names: users.map((u) => u.name), one: one?.name });
  return createElement('ul', null, users.map((u) => createElement('li', { key: u.id }, u.name)));
}

/** Waits in act() so that React applies updates coming from the client's events. */
async function settle(check, what) {
  await waitFor(async () => {
    let ok = false;
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
      ok = check();
    });
    return ok;
  }, what);
}

test('the hooks re-render on local writes and on remote changes', async () => {
  const server = await startServer();
  const token = server.token({ tenant: randomName() });
  const client = createClient({ url: server.url, token, clientId: 'ui', WebSocket, backoff: FAST });
  const other = createClient({ url: server.url, token, clientId: 'other', WebSocket: null });
  /** @type {any[]} */
  const renders = [];
  /** @type {any} */
  let renderer;
  try {
    await client.start();
    const ada = await other.put('end_user', { name: 'Ada' });
    await other.sync();
    await act(async () => {
      renderer = create(createElement(Users, { client, selected: ada.id, renders }));
    });
    const last = () => renders.at(-1);
    await settle(() => last().names.includes('Ada') && last().one === 'Ada', 'the pulled record');

    await act(async () => {
      await client.put('end_user', { name: 'Local' });
    });
    assert.ok(last().names.includes('Local'), 'a local write shows at once');
    assert.ok(renders.some((r) => r.pending === 1), 'with the pending count');

    await other.update('end_user', ada.id, { name: 'Ada Lovelace' });
    await other.sync();
    await settle(() => last().one === 'Ada Lovelace' && last().names.includes('Ada Lovelace'), 'the remote edit');
    await settle(() => last().pending === 0, 'the local write acknowledged');

    await other.remove('end_user', ada.id);
    await other.sync();
    await settle(() => last().one === undefined && !last().names.includes('Ada Lovelace'), 'the remote delete');
    assert.deepEqual(renderer.toJSON().children.map((li) => li.children[0]), ['Local']);
  } finally {
    await act(async () => renderer?.unmount());
    await client.stop();
    await other.stop();
    await server.stop();
  }
});
