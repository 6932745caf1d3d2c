// Data: records per type with search, and a record's history (each version, its client, its time).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, screenshots, startServer, watch } from './helpers.js';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('search finds a record and its history lists each version with client and time', async () => {
  const token = server.token();
  const push = (body, clientId) => server.http('POST', '/api/client/sync/push', body, { token, clientId });
  const created = await push({ changes: { end_user: [
    { name: 'Ann Archer', email: 'ann@example.com', phone: '100' },
    { name: 'Bob Baker', email: 'bob@example.com' },
    { name: 'Cid Cooper', email: 'cid@example.com' },
  ] } }, 'app-1');
  assert.equal(created.status, 200);
  const ann = created.body.data[0];
  const v2 = await push({ changes: [{ entityType: 'end_user', op: 'update', id: ann.id, baseVersion: 1, data: { phone: '200' } }] }, 'app-2');
  assert.equal(v2.body.results[0].version, 2);
  const v3 = await push({ changes: [{ entityType: 'end_user', op: 'update', id: ann.id, baseVersion: 2, data: { email: 'ann.archer@example.com' } }] }, 'tablet-7');
  assert.equal(v3.body.results[0].version, 3);

  const page = await browser.context.newPage();
  const watcher = watch(page);
  await page.goto(`${server.url}/console/data`);
  await page.locator('#data-table tbody tr').first().waitFor();
  assert.equal(await page.locator('#data-table tbody tr').count(), 3);

  await page.getByLabel('Search').fill('archer');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#data-table tbody tr').nth(1).waitFor({ state: 'detached' });
  const rows = page.locator('#data-table tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /Ann Archer/);

  await rows.first().click();
  await page.locator('#history li.version').nth(2).waitFor();
  const versions = page.locator('#history li.version');
  assert.equal(await versions.count(), 3);
  const expected = [['3', 'tablet-7', 'update'], ['2', 'app-2', 'update'], ['1', 'app-1', 'create']];
  for (const [i, [version, client, action]] of expected.entries()) {
    const item = versions.nth(i);
    assert.equal(await item.getAttribute('data-version'), version);
    const text = await item.innerText();
    assert.match(text, new RegExp(`Version ${version}`));
    assert.match(text, new RegExp(action));
    assert.equal(await item.locator('code.client').innerText(), client);
    assert.match(text, /\d\d:\d\d:\d\d/, 'the time is shown');
  }
  assert.match(await versions.nth(1).innerText(), /changed: phone/);

  // A search that finds nothing says so.
  await page.getByLabel('Search').fill('nobody-at-all');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#data-empty').waitFor();

  await page.getByLabel('Search').fill('');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#data-table tbody tr').nth(2).waitFor();
  await page.locator('#data-table tbody tr', { hasText: 'Ann Archer' }).click();
  await page.locator('#history li.version').nth(2).waitFor();
  await screenshots(page, 'data');
  watcher.assertClean();
  await page.close();
});
