// Conflicts: a manual-strategy conflict made over HTTP is listed with its differing fields;
// resolving it in the page closes it and the record holds the chosen values.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, screenshots, startServer, watch } from './helpers.js';

let server;
let browser;

before(async () => {
  server = await startServer({ config: '[sync.strategies]\nend_user = "manual"\n' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a manual conflict is listed with its differing fields and resolved with the chosen values', async () => {
  const token = server.token();
  const push = (body, clientId) => server.http('POST', '/api/client/sync/push', body, { token, clientId });
  const created = await push({ table: 'end_user', operation: 'create', data: { name: 'Ann Archer', email: 'ann@example.com', phone: '100' } }, 'app-1');
  const id = created.body.data[0].id;
  // App 1 and the offline tablet both edit version 1: the tablet's push meets version 2.
  await push({ changes: [{ entityType: 'end_user', op: 'update', id, baseVersion: 1, data: { phone: '111', email: 'ann@archer.example' } }] }, 'app-1');
  const stale = await push({ changes: [{ entityType: 'end_user', op: 'update', id, baseVersion: 1, data: { phone: '222', email: 'ann@tablet.example', name: 'Ann Archer' } }] }, 'tablet-7');
  assert.equal(stale.body.results[0].status, 'conflict', JSON.stringify(stale.body));
  const open = await server.http('GET', '/api/client/sync/conflicts', undefined, { token });
  assert.equal(open.body.data.length, 1);
  const conflictId = open.body.data[0].id;

  const page = await browser.context.newPage();
  const watcher = watch(page);
  await page.goto(`${server.url}/console/conflicts`);
  const card = page.locator(`.conflict[data-conflict-id="${conflictId}"]`);
  await card.waitFor();
  assert.match(await card.innerText(), /client tablet-7/);
  // phone and email differ, name is the same on both sides.
  for (const field of ['phone', 'email']) {
    const row = card.locator(`tr[data-field="${field}"]`);
    assert.equal(await row.getAttribute('class'), 'diff', `${field} is marked as differing`);
    assert.match(await row.innerText(), /≠/);
  }
  assert.equal(await card.locator('tr[data-field="name"]').getAttribute('class'), null);
  assert.match(await card.locator('tr[data-field="phone"]').innerText(), /111[\s\S]*222/);
  assert.match(await card.locator('.badge').innerText(), /2 differing fields/);
  await screenshots(page, 'conflicts');

  // Keep the tablet's phone and the server's email.
  await card.locator('tr[data-field="phone"] input[value="client"]').check();
  await card.locator('tr[data-field="email"] input[value="server"]').check();
  await card.getByRole('button', { name: 'Resolve' }).click();
  await card.locator('[role=status]', { hasText: 'Resolved' }).waitFor();
  assert.match(await card.locator('[role=status]').innerText(), /is now version 3/);
  await card.waitFor({ state: 'detached' });
  await page.locator('#no-conflicts').waitFor();

  const after = await server.http('GET', '/api/client/sync/conflicts', undefined, { token });
  assert.deepEqual(after.body.data, [], 'the conflicts API has no open conflict left');
  const record = await server.http('GET', `/api/end_user/${id}`, undefined, { token });
  assert.equal(record.body.data.phone, '222');
  assert.equal(record.body.data.email, 'ann@archer.example');
  assert.equal(record.body.data.name, 'Ann Archer');
  assert.equal(record.body.data.version, 3);
  watcher.assertClean();
  await page.close();
});
