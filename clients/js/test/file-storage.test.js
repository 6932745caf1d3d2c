// fileStorage on its own: state that survives kill -9 in the middle of writing, grouped commits,
// and the lock that keeps a second storage off a directory in use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '../src/index.js';
import { fileStorage } from '../src/node.js';
import { freePort, signToken, randomSecret, randomName, waitFor } from './helpers/server.js';

const here = dirname(fileURLToPath(import.meta.url));

test('a process killed while writing leaves a state the next one reads whole: every acknowledged write, each with its queued change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'syncd-crash-'));
  try {
    let total = 0;
    for (let round = 0; round < 3; round += 1) {
      const port = await freePort();
      const token = signToken(randomSecret(), { tenant: randomName() });
      const proc = spawn(process.execPath, [join(here, 'fixtures', 'file-client.js'), 'write-loop', dir, `http://127.0.0.1:${port}`, token, '0', '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let acked = -1;
      proc.stdout.on('data', (chunk) => {
        for (const m of String(chunk).matchAll(/ok (\d+)/g)) acked = Math.max(acked, Number(m[1]));
      });
      const exited = new Promise((r) => proc.once('exit', r));
      // Kill at a different moment each round, in the middle of the write stream.
      await waitFor(() => acked >= 20 + round * 7, 'some acknowledged writes');
      proc.kill('SIGKILL');
      await exited;

      const storage = fileStorage(dir);
      const snapshot = await storage.load();
      await storage.close();
      total += acked + 1;
      // One write at a time: every acknowledged one is there, at most the one under way besides.
      assert.ok(snapshot.outbox.length >= total && snapshot.outbox.length <= total + 1, `${snapshot.outbox.length} queued after ${total} acknowledged`);
      total = snapshot.outbox.length;
      for (const [key, change] of snapshot.outbox) {
        assert.equal(key, String(change.seq).padStart(15, '0'));
        assert.equal(change.op, 'upsert');
      }
      // The next client rebuilds its local records from the queue.
      const client = createClient({ url: `http://127.0.0.1:${port}`, token, storage: fileStorage(dir), WebSocket: null });
      assert.equal(await client.pending(), snapshot.outbox.length);
      assert.equal((await client.list('end_user')).length, snapshot.outbox.length);
      await client.close();
      assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'temporary files cleaned up');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory in use is refused to a second storage, and free again after close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'syncd-lock-'));
  try {
    const first = fileStorage(dir);
    await first.load();
    await first.commit([{ store: 'meta', key: 'cursor', value: 'c1' }]);
    await assert.rejects(fileStorage(dir).load(), /in use by process/);
    await first.close();
    const second = fileStorage(dir);
    const snapshot = await second.load();
    assert.deepEqual(snapshot.meta, [['cursor', 'c1']]);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('commits made while a write is under way are grouped and all made durable in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'syncd-group-'));
  try {
    const storage = fileStorage(dir);
    await storage.load();
    const commits = [];
    for (let i = 0; i < 200; i += 1) commits.push(storage.commit([{ store: 'outbox', key: String(i).padStart(15, '0'), value: { seq: i } }, { store: 'meta', key: 'last', value: i }]));
    await Promise.all(commits);
    await storage.commit([{ store: 'outbox', clear: true }]);
    await storage.close();
    const again = fileStorage(dir);
    const snapshot = await again.load();
    assert.deepEqual(snapshot.outbox, []);
    assert.deepEqual(snapshot.meta, [['last', 199]]);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
