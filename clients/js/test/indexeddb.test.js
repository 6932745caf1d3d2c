// indexedDbStorage in a real browser: Debian's Chromium, driven by playwright-core, loading the
// SDK's files as they are (plain ES modules) from a small server of the test that also forwards
// the API to syncd (same origin, as when syncd serves the SDK itself).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomName, serverRecords, startServer } from './helpers/server.js';
import { startProxy } from './helpers/proxy.js';

const CHROMIUM = '/usr/bin/chromium';
const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

test('indexedDbStorage keeps the outbox and the records across a page reload and sends them when online', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, async () => {
  const { chromium } = await import('playwright-core');
  const server = await startServer();
  const token = server.token({ tenant: randomName() });
  const site = await startProxy(server.port);
  site.hook = (req) => {
    if (req.path === '/') return { serve: '<!doctype html><title>sdk</title>', type: 'text/html' };
    if (!req.path.startsWith('/sdk/')) return undefined;
    const file = normalize(join(src, req.path.slice('/sdk/'.length)));
    if (!file.startsWith(src) || !existsSync(file)) return { status: 404, body: {} };
    return { serve: readFileSync(file, 'utf8'), type: 'text/javascript' };
  };
  const profile = mkdtempSync(join(tmpdir(), 'syncd-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await context.newPage();
    await page.goto(site.url + '/');
    // Offline: the API is unreachable, the writes stay queued in IndexedDB.
    const api = { token, url: site.url };
    const first = await page.evaluate(async ({ token, url }) => {
      const { createClient, indexedDbStorage } = await import('/sdk/index.js');
      const client = createClient({ url: url + '/offline', token, clientId: 'tab-1', storage: indexedDbStorage('syncd-test') });
      const ids = [];
      for (let i = 0; i < 3; i += 1) ids.push((await client.put('end_user', { name: `browser ${i}` })).id);
      const pending = await client.pending();
      await client.close();
      return { ids, pending };
    }, api);
    assert.equal(first.pending, 3);

    await page.reload();
    const second = await page.evaluate(async ({ token, url }) => {
      const { createClient, indexedDbStorage } = await import('/sdk/index.js');
      const client = createClient({ url, token, clientId: 'tab-1', storage: indexedDbStorage('syncd-test') });
      const before = { pending: await client.pending(), names: (await client.list('end_user')).map((r) => r.name) };
      await client.start();
      await client.sync();
      const after = { pending: await client.pending(), versions: (await client.list('end_user')).map((r) => r.version), connected: client.status.connected };
      await client.close();
      return { before, after };
    }, api);
    assert.equal(second.before.pending, 3, 'the queue survived the reload');
    assert.deepEqual(second.before.names.sort(), ['browser 0', 'browser 1', 'browser 2']);
    assert.equal(second.after.pending, 0);
    assert.deepEqual(second.after.versions, [1, 1, 1]);
    const stored = (await serverRecords(server.url, token, ['end_user'])).end_user;
    assert.deepEqual(stored.map((r) => r.id).sort(), [...first.ids].sort());
  } catch (e) {
    console.error(site.log.map((r) => [r.method, r.path, r.status, r.upstreamStatus]));
    throw e;
  } finally {
    await context.close();
    await site.close();
    await server.stop();
    rmSync(profile, { recursive: true, force: true });
  }
});
