// Benchmarks of the SDK's own overhead against a release syncd (SYNCD_BIN, else
// ../../target/release/syncd): the two variants of each measurement alternate in the same run,
// several rounds, and the median of each is compared, because this machine's speed drifts.
//
//   npm run bench                       # ROUNDS=7 RECORDS=10000 WRITES=1000 by default
//
// 1. Pull and apply RECORDS records into memoryStorage (client.sync() on a new client) versus a
//    raw fetch loop that pulls the same pages and parses them. Both use pages of PAGE records.
// 2. Flush WRITES queued writes (client.sync() until the outbox is empty) versus the same
//    changes pushed directly with fetch, in batches of BATCH, one request after the other.

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, memoryStorage, uuidv7 } from '../src/index.js';
import { randomName, startServer } from '../test/helpers/server.js';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.SYNCD_BIN ?? resolve(here, '../../../target/release/syncd');
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const RECORDS = Number(process.env.RECORDS ?? 10000);
const WRITES = Number(process.env.WRITES ?? 1000);
const PAGE = Number(process.env.PAGE ?? 1000);
const BATCH = Number(process.env.BATCH ?? 100);

if (!existsSync(bin)) {
  console.error(`no syncd at ${bin}: cargo build --release --bin syncd, or set SYNCD_BIN`);
  process.exit(1);
}

const server = await startServer({ bin });
try {
  const pull = await benchPull();
  const flush = await benchFlush();
  report('pull and apply', RECORDS, pull.raw, pull.sdk, 1.5);
  report('flush queued writes', WRITES, flush.raw, flush.sdk, 2);
  console.log(`(sync() of the flush rounds, push plus the pull that follows it: median ${median(flush.round).toFixed(1)} ms)`);
} finally {
  await server.stop();
}

/** @param {number} i */
function record(i) {
  return { name: `user ${i}`, email: `user${i}@example.com`, phone: `555-${String(i).padStart(4, '0')}`, active: 1 };
}

/** @param {string} token @param {any[]} changes @param {string} clientId */
async function push(token, changes, clientId) {
  const res = await fetch(`${server.url}/api/client/sync/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-client-id': clientId, 'idempotency-key': uuidv7() },
    body: JSON.stringify({ clientId, changes }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`push ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

async function benchPull() {
  const token = server.token({ tenant: randomName('bench') });
  for (let i = 0; i < RECORDS; i += 1000) {
    const changes = [];
    for (let j = i; j < Math.min(RECORDS, i + 1000); j += 1) changes.push({ entityType: 'end_user', op: 'upsert', id: uuidv7(), data: record(j) });
    await push(token, changes, 'seeder');
  }
  const raw = [];
  const sdk = [];
  for (let round = 0; round < ROUNDS + 1; round += 1) {
    const r = await rawPull(token);
    const s = await sdkPull(token);
    if (round === 0) continue; // warm-up
    raw.push(r);
    sdk.push(s);
  }
  return { raw, sdk };
}

/** @param {string} token */
async function rawPull(token) {
  const started = performance.now();
  let cursor;
  let count = 0;
  for (;;) {
    const res = await fetch(`${server.url}/api/client/sync/pull`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-client-id': 'raw' },
      body: JSON.stringify({ entityTypes: ['end_user'], limit: PAGE, ...(cursor ? { cursor } : {}) }),
    });
    const page = await res.json();
    count += page.data.end_user.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  if (count !== RECORDS) throw new Error(`raw pull got ${count}`);
  return performance.now() - started;
}

/** @param {string} token */
async function sdkPull(token) {
  const client = createClient({ url: server.url, token, clientId: 'sdk', storage: memoryStorage(), entityTypes: ['end_user'], WebSocket: null, pullLimit: PAGE });
  await client.pending(); // opens the storage: not part of the pull
  const started = performance.now();
  await client.sync();
  const elapsed = performance.now() - started;
  const count = (await client.list('end_user')).length;
  if (count !== RECORDS) throw new Error(`sdk pull got ${count}`);
  await client.close();
  return elapsed;
}

async function benchFlush() {
  const raw = [];
  const sdk = [];
  const round = [];
  for (let r = 0; r < ROUNDS + 1; r += 1) {
    const a = await rawFlush();
    const b = await sdkFlush();
    if (r === 0) continue;
    raw.push(a);
    sdk.push(b.flush);
    round.push(b.round);
  }
  return { raw, sdk, round };
}

async function rawFlush() {
  const token = server.token({ tenant: randomName('bench') });
  const changes = Array.from({ length: WRITES }, (_, i) => ({ entityType: 'end_user', op: 'upsert', id: uuidv7(), data: record(i), clientUpdatedAt: new Date().toISOString() }));
  const started = performance.now();
  for (let i = 0; i < changes.length; i += BATCH) await push(token, changes.slice(i, i + BATCH), 'raw');
  return performance.now() - started;
}

async function sdkFlush() {
  const token = server.token({ tenant: randomName('bench') });
  const client = createClient({ url: server.url, token, clientId: 'sdk', storage: memoryStorage(), entityTypes: ['end_user'], WebSocket: null, pushBatchSize: BATCH });
  for (let i = 0; i < WRITES; i += 1) await client.put('end_user', record(i));
  let flushed = 0;
  const started = performance.now();
  const off = client.on('status', (s) => {
    if (s.pending === 0 && flushed === 0) flushed = performance.now() - started;
  });
  await client.sync();
  const total = performance.now() - started;
  off();
  await client.close();
  return { flush: flushed, round: total };
}

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** @param {string} name @param {number} n @param {number[]} raw @param {number[]} sdk @param {number} target */
function report(name, n, raw, sdk, target) {
  const ratio = median(sdk) / median(raw);
  const fmt = (v) => v.map((x) => x.toFixed(0)).join(' ');
  console.log(`${name} (${n}): raw median ${median(raw).toFixed(1)} ms [${fmt(raw)}], SDK median ${median(sdk).toFixed(1)} ms [${fmt(sdk)}], ratio ${ratio.toFixed(2)} (target <= ${target}) ${ratio <= target ? 'met' : 'NOT met'}`);
}
