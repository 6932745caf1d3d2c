// Errors in words: a production server asks for a token and refuses Activity without the admin
// role; a bad token and a server that went away are explained; nothing throws.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, screenshots, sign, startServer, watch } from './helpers.js';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test('a production server asks for a token, explains bad ones and keeps Activity for admins', async () => {
  const server = await startServer({ env: { SYNCD_ENV: 'production' } });
  try {
    const page = await browser.context.newPage();
    const watcher = watch(page);
    // Expected refusals: no development token here, and the bad token's check.
    watcher.allow(/^\/console\/dev-token$/, 404);
    watcher.allow(/^\/api\/client\/sync\/conflicts$/, 401);
    await page.goto(`${server.url}/console/activity`);
    const form = page.locator('#token-form');
    await form.waitFor();
    await screenshots(page, 'token');

    await page.getByLabel('Token').fill('not a token');
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.locator('#token-error', { hasText: 'not a JWT' }).waitFor();

    const now = Math.floor(Date.now() / 1000);
    const forged = sign({ sub: 'mallory', tenant_id: 'dev', exp: now + 600, roles: ['admin'] }, 'not-the-secret');
    await page.getByLabel('Token').fill(forged);
    await page.getByRole('button', { name: 'Use this token' }).click();
    const refused = await page.locator('#token-error', { hasText: 'The server refused it' }).innerText();
    assert.match(refused, /401 unauthorized: the token's signature or algorithm is not accepted/);

    const expired = sign({ sub: 'old', tenant_id: 'dev', exp: now - 3600 }, server.secret);
    await page.getByLabel('Token').fill(expired);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.locator('#token-error', { hasText: 'expired' }).waitFor();

    // A valid token without the admin role: Activity refuses in words.
    await page.getByLabel('Token').fill(server.token({ sub: 'ann' }));
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.locator('#needs-admin').waitFor();
    assert.match(await page.locator('#needs-admin').innerText(), /needs the admin role[\s\S]*no roles/);
    await page.locator('#banner', { hasText: 'admin role' }).waitFor();
    await screenshots(page, 'activity-needs-admin');

    // The client pages work with it.
    await page.getByRole('link', { name: 'Data' }).click();
    await page.locator('#data-empty').waitFor();

    // An admin token opens Activity.
    await page.getByRole('button', { name: 'Change token' }).click();
    await page.locator('#token-form').waitFor();
    await page.getByLabel('Token').fill(server.token({ roles: ['admin'] }));
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.getByRole('link', { name: 'Activity' }).click();
    await page.locator('#tile-pushes').waitFor();
    watcher.assertClean();
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a token the server stops accepting is shown as its error, not a blank page', async () => {
  const server = await startServer();
  try {
    const page = await browser.context.newPage();
    const watcher = watch(page);
    watcher.allow(/^\/api\//, 401);
    await page.goto(`${server.url}/console/data`);
    await page.locator('#data-empty').waitFor();
    // The stored token is replaced by one signed with another key (as after a key rotation).
    await page.evaluate((token) => {
      sessionStorage.setItem('syncd.console.token', JSON.stringify({ token, source: 'pasted' }));
    }, sign({ sub: 'x', tenant_id: 'dev', exp: Math.floor(Date.now() / 1000) + 600 }, 'another-key'));
    await page.getByRole('button', { name: 'Search' }).click();
    // The banner is written when the refused list answers; wait for it rather than reading at once.
    const banner = page.locator('#banner', { hasText: 'could not be listed' });
    await banner.waitFor();
    assert.match(await banner.innerText(), /The end_user records could not be listed: 401 unauthorized: /);
    watcher.assertClean();
    await page.close();
  } finally {
    await server.stop();
  }
});

test('a server that went away is reported in words on every page', async () => {
  const server = await startServer();
  const page = await browser.context.newPage();
  const watcher = watch(page);
  try {
    await page.goto(`${server.url}/console/activity`);
    await page.locator('#tile-pushes').waitFor();
    const other = await browser.context.newPage();
    const otherWatcher = watch(other);
    await other.goto(`${server.url}/console/data`);
    await other.locator('#data-empty').waitFor();

    watcher.serverGone();
    otherWatcher.serverGone();
    await server.stop();

    // Activity polls: its banner says the server did not answer.
    await page.locator('#banner', { hasText: 'The statistics could not be read: The server did not answer' }).waitFor({ timeout: 10_000 });
    await page.locator('#feed-state', { hasText: 'connecting' }).waitFor();
    await screenshots(page, 'server-gone');
    // Data: a search says the same.
    await other.getByRole('button', { name: 'Search' }).click();
    await other.locator('#banner', { hasText: 'could not be listed: The server did not answer' }).waitFor();
    assert.ok((await other.locator('main').innerText()).length > 50, 'the page is not blank');
    watcher.assertClean();
    otherWatcher.assertClean();
    await other.close();
  } finally {
    await page.close();
    await server.stop();
  }
});
