// Playground: three apps, each a real @syncd/client, connected to a real syncd; the seed's
// "Multi-App Sync Flow" end to end in Chromium.
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

const app = (page, n) => page.locator(`#app-${n}`);
const logText = (page, n) => app(page, n).locator('.log').innerText();

test('three apps connect, hear each other within a second, pull, and catch up after being offline', async () => {
  const page = await browser.context.newPage();
  const watcher = watch(page);
  await page.goto(`${server.url}/`);
  assert.equal(new URL(page.url()).pathname, '/console/', '/ leads to the console');
  await page.locator('#app-3').waitFor();
  assert.match(await page.locator('#identity').innerText(), /tenant dev · admin · development token/);

  await page.getByRole('button', { name: 'Connect all apps' }).click();
  for (const n of [1, 2, 3]) {
    await app(page, n).locator('.state', { hasText: 'connected' }).waitFor();
    await eventually(async () => /Authentication successful/.test(await logText(page, n)), `app ${n} authenticated`);
    const log = await logText(page, n);
    assert.match(log, /^\[\d\d:\d\d:\d\d\] WebSocket connected$/m, log);
    assert.match(log, /^\[\d\d:\d\d:\d\d\] Authentication successful$/m, log);
  }
  assert.equal(await page.locator('#playground-state').innerText(), '3 of 3 apps connected');

  // App 1 sends John Doe; apps 2 and 3 log the notification within a second of the click.
  await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.heardAt = {};
    document.querySelector('#app-1 .send-data').addEventListener('click', () => { w.clickedAt = performance.now(); }, { capture: true });
    for (const n of [2, 3]) {
      const log = document.querySelector(`#app-${n} .log`);
      new MutationObserver(() => {
        if (!w.heardAt[n] && /Sync Notification: new_data_available - /.test(log.textContent)) w.heardAt[n] = performance.now();
      }).observe(log, { childList: true, subtree: true });
    }
  });
  await app(page, 1).locator('input[name=name]').fill('John Doe');
  await app(page, 1).getByRole('button', { name: 'Send data' }).click();
  await page.waitForFunction(() => /** @type {any} */ (window).heardAt[2] && /** @type {any} */ (window).heardAt[3], null, { timeout: 5000 });
  const delays = await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    return [w.heardAt[2] - w.clickedAt, w.heardAt[3] - w.clickedAt];
  });
  for (const d of delays) assert.ok(d < 1000, `a notification took ${Math.round(d)} ms after the click`);
  for (const n of [2, 3]) {
    assert.match(await logText(page, n), /^\[\d\d:\d\d:\d\d\] Sync Notification: new_data_available - new end_user data available$/m);
  }
  await eventually(async () => /Data sent successfully/.test(await logText(page, 1)), 'app 1 sent');
  const log1 = await logText(page, 1);
  assert.match(log1, /^\[\d\d:\d\d:\d\d\] Sending customer data: John Doe$/m, log1);
  assert.match(log1, /^\[\d\d:\d\d:\d\d\] Sync Notification: sync_complete - /m, log1);
  assert.match(log1, /^\[\d\d:\d\d:\d\d\] Data sent successfully$/m, log1);

  // Pull data on app 2 shows John Doe.
  await app(page, 2).getByRole('button', { name: 'Pull data' }).click();
  await eventually(async () => /Data pulled: .*John Doe/.test(await logText(page, 2)), 'app 2 pulled John Doe');
  assert.match(await logText(page, 2), /^\[\d\d:\d\d:\d\d\] Pulling data from server\.\.\.$/m);
  assert.match(await app(page, 2).locator('.records').innerText(), /John Doe/);

  // App 3 goes offline and sends: the change waits (pending 1); back online, app 1 receives it.
  await app(page, 3).getByLabel('Offline').check();
  await app(page, 3).locator('.state', { hasText: 'offline' }).waitFor();
  await app(page, 3).locator('input[name=name]').fill('Olga Offline');
  await app(page, 3).getByRole('button', { name: 'Send data' }).click();
  await app(page, 3).locator('.pending', { hasText: '1' }).waitFor();
  const before = (await logText(page, 1)).split('\n').filter((l) => /new_data_available/.test(l)).length;
  await screenshots(page, 'playground');
  await app(page, 3).getByLabel('Offline').uncheck();
  await app(page, 3).locator('.pending', { hasText: '0' }).waitFor();
  await eventually(async () => /Olga Offline/.test(await app(page, 1).locator('.records').innerText()), 'app 1 received the offline record');
  const heard = (await logText(page, 1)).split('\n').filter((l) => /new_data_available/.test(l)).length;
  assert.ok(heard > before, 'app 1 was notified of the record sent after reconnecting');
  await eventually(async () => /Data sent successfully/.test(await logText(page, 3)), 'app 3 logged its queued change as sent');

  // The server holds both records, written by their apps.
  const { body } = await server.http('GET', '/api/end_user?search=Olga');
  assert.equal(body.data.length, 1);
  const history = await server.http('GET', `/api/end_user/${body.data[0].id}/history`);
  assert.equal(history.body.data[0].clientId, 'app-3');

  await screenshots(page, 'playground-synced');
  watcher.assertClean();
  await page.close();
});
