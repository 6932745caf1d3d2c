// Activity: the figures of GET /api/admin/stats and the live feed, updated without a reload
// when an app pushes over plain HTTP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { eventually, launchBrowser, screenshots, startServer, watch } from './helpers.js';

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

const cell = (page, type, column) => page.locator(`#type-counts tr[data-type="${type}"] td.${column}`).innerText();

test('a push made over HTTP shows up in the feed and the counts without a reload', async () => {
  const page = await browser.context.newPage();
  const watcher = watch(page);
  await page.goto(`${server.url}/console/activity`);
  await page.locator('#tile-pushes').waitFor();
  await page.locator('#feed-state', { hasText: 'connected' }).waitFor();
  assert.equal(await cell(page, 'end_user', 'live'), '0');
  await eventually(async () => (await page.locator('#tile-connections .value').innerText()) === '1', 'the page itself counted as connected', 8000);

  // An app pushes with curl-like HTTP.
  const app = server.token({}, 'dev');
  for (const name of ['Carla Curl', 'Dan Curl']) {
    const push = await server.http('POST', '/api/client/sync/push',
      { table: 'end_user', operation: 'create', data: { name, email: 'curl@example.com' } },
      { token: app, clientId: 'curl-app' });
    assert.equal(push.status, 200, JSON.stringify(push.body));
  }
  const del = await server.http('POST', '/api/client/sync/push',
    { changes: { interactions: [{ type: 'call', title: 'Call Carla' }] } }, { token: app, clientId: 'curl-app' });
  assert.equal(del.status, 200);

  await page.locator('#feed li[data-type="end_user"]', { hasText: 'Carla Curl' }).waitFor();
  const first = page.locator('#feed li').first();
  assert.match(await first.innerText(), /interactions Call Carla .* by curl-app/);
  await eventually(async () => (await cell(page, 'end_user', 'live')) === '2', 'end_user live count 2', 8000);
  await eventually(async () => (await cell(page, 'interactions', 'live')) === '1', 'interactions live count 1', 8000);
  await eventually(async () => Number(await page.locator('#tile-pushes .value').innerText()) >= 3, 'three pushes this minute', 8000);
  assert.match(await page.locator('#tile-changes .sub').innerText(), /in the last hour/);
  assert.match(await page.locator('#tile-latency .value').innerText(), /^\d+(\.\d+)? ms$/);
  assert.equal(await page.locator('#banner').isVisible(), false);

  await screenshots(page, 'activity');
  watcher.assertClean();
  await page.close();
});
