// Offline then online: writes made while the server is not even started are local at once,
// counted, and reach the server in order once it is up; with fileStorage a second process on
// the same directory sends what the first (killed) one had queued, nothing twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createClient, memoryStorage } from '../src/index.js';
import { FAST, freePort, randomName, randomSecret, serverRecords, signToken, startServer, waitFor } from './helpers/server.js';
import { startProxy } from './helpers/proxy.js';

const here = dirname(fileURLToPath(import.meta.url));

test('fifty writes made while the server is down are local at once and arrive in order once it starts', async () => {
  const port = await freePort();
  const secret = randomSecret();
  const token = signToken(secret, { tenant: randomName() });
  const client = createClient({ url: `http://127.0.0.1:${port}`, token, clientId: 'app-1', storage: memoryStorage(), WebSocket, backoff: FAST });
  await client.start();
  const started = Date.now();
  const names = [];
  for (let i = 0; i < 50; i += 1) {
    names.push(`user ${i}`);
    await client.put('end_user', { name: `user ${i}`, email: `u${i}@example.com` });
  }
  assert.ok(Date.now() - started < 2000, 'local writes do not wait for the network');
  assert.equal((await client.list('end_user')).length, 50);
  assert.equal(await client.pending(), 50);
  assert.equal(client.status.pending, 50);
  await waitFor(() => client.status.lastError !== null, 'a failed attempt');
  assert.equal(client.status.online, false);

  const server = await startServer({ port, secret });
  try {
    await waitFor(() => client.status.pending === 0 && client.status.online, 'the outbox to drain', 20000);
    const stored = (await serverRecords(server.url, token, ['end_user'])).end_user;
    assert.deepEqual(stored.map((r) => r.name), names, 'in the order written, each once');
    assert.ok(stored.every((r) => r.version === 1));
    const local = await client.list('end_user');
    assert.ok(local.every((r) => r.version === 1 && r.sync_status === 'synced'), 'local copies took the server answer');
  } finally {
    await client.stop();
    await server.stop();
  }
});

/**
 * Runs test/fixtures/file-client.js in a child process.
 * @param {string[]} args
 */
function child(args) {
  const proc = spawn(process.execPath, [join(here, 'fixtures', 'file-client.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  /** @type {string[]} */
  const lines = [];
  let buffer = '';
  proc.stdout.on('data', (chunk) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return { proc, lines, exited };
}

test('with fileStorage a second process on the directory sends what a killed first one had queued, none twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'syncd-file-client-'));
  const port = await freePort();
  const secret = randomSecret();
  const token = signToken(secret, { tenant: randomName() });
  const proxy = await startProxy(port);
  let server;
  try {
    // The first push that reaches the server is committed there, but its answer never comes
    // back: the process is killed while waiting for it.
    let committed;
    const firstCommit = new Promise((r) => (committed = r));
    let up = false;
    let done = false;
    proxy.hook = (req) => {
      if (req.path !== '/api/client/sync/push' || !up || done) return undefined;
      return {
        dropAnswer: true,
        hold: true,
        onAnswer: () => {
          done = true;
          committed(req);
        },
      };
    };
    const first = child(['write-then-sync', dir, proxy.url, token, '50', '10']);
    await waitFor(() => first.lines.includes('queued 50'), 'the first process to queue 50 writes');
    up = true;
    server = await startServer({ port, secret });
    const req = await firstCommit;
    first.proc.kill('SIGKILL');
    await first.exited;
    assert.equal(req.upstreamStatus, 200, JSON.stringify(req.upstreamBody));
    const afterKill = (await serverRecords(server.url, token, ['end_user'])).end_user;
    assert.equal(afterKill.length, 10, 'the first batch was committed before the kill');

    const second = child(['resume', dir, proxy.url, token, '0', '10']);
    const result = await second.exited;
    assert.equal(result.code, 0, `second process: ${second.lines.join('\n')}`);
    assert.ok(second.lines.includes('pending 50'), `the queue survived: ${second.lines.join(' | ')}`);
    assert.ok(second.lines.includes('pending 0'));

    const stored = (await serverRecords(server.url, token, ['end_user'])).end_user;
    assert.deepEqual(stored.map((r) => r.name), Array.from({ length: 50 }, (_, i) => `user ${i}`));
    assert.ok(stored.every((r) => r.version === 1), 'nothing applied twice');
    const key = req.headers['idempotency-key'];
    const sameKey = proxy.requests('/api/client/sync/push').filter((r) => r.headers['idempotency-key'] === key);
    assert.ok(sameKey.length >= 2, 'the batch in flight was sent again with its key');
    assert.equal(sameKey.at(-1)?.answerHeaders?.['idempotent-replayed'], 'true', 'and the server replayed it');
  } finally {
    await proxy.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
