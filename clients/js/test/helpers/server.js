// Starts the workspace's real `syncd` binary for a test: its own temporary directory, SQLite
// file, secret and free loopback port. Tokens are HS256 JWTs signed here with the same secret.

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** clients/js/../../target/debug/syncd unless SYNCD_BIN names another binary. */
export const SYNCD_BIN = process.env.SYNCD_BIN ?? resolve(here, '../../../../target/debug/syncd');

export function binary() {
  if (!existsSync(SYNCD_BIN)) {
    throw new Error(`no syncd binary at ${SYNCD_BIN}: run \`cargo build --bin syncd\` at the repository root or set SYNCD_BIN`);
  }
  return SYNCD_BIN;
}

/** A port nothing listens on right now. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolvePort(address.port));
    });
  });
}

export function randomSecret() {
  return randomBytes(24).toString('hex');
}

export function randomName(prefix = 't') {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/**
 * @param {string} secret
 * @param {{ tenant: string, sub?: string, clientId?: string, exp?: number, roles?: string[], scope?: string }} claims exp in seconds
 */
export function signToken(secret, { tenant, sub = 'alice', clientId, exp, roles, scope }) {
  const payload = { sub, tenant_id: tenant, exp: exp ?? Math.floor(Date.now() / 1000) + 3600 };
  if (clientId) payload.client_id = clientId;
  if (roles) payload.roles = roles;
  if (scope) payload.scope = scope;
  const enc = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`;
  const signature = createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${signature}`;
}

/**
 * Starts syncd and waits for /readyz.
 * @param {{ port?: number, secret?: string, config?: string }} [options]
 */
export async function startServer(options = {}) {
  const port = options.port ?? (await freePort());
  const secret = options.secret ?? randomSecret();
  const dir = mkdtempSync(join(tmpdir(), 'syncd-js-'));
  const configFile = join(dir, 'syncd.toml');
  // One test client hammers from one subject: lift the per-subject rate limit.
  writeFileSync(configFile, options.config ?? '[limits]\nrequests_per_second = 100000\nburst = 100000\n');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SYNCD_')));
  Object.assign(env, {
    SYNCD_BIND: `127.0.0.1:${port}`,
    SYNCD_DATABASE_URL: `sqlite://${join(dir, 'syncd.db')}?mode=rwc`,
    SYNCD_JWT_SECRET: secret,
    SYNCD_LOG: 'warn',
    SYNCD_CONFIG: configFile,
  });
  const child = spawn(binary(), ['serve'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exited = false;
  const exit = new Promise((r) => child.once('exit', () => { exited = true; r(undefined); }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (exited) throw new Error(`syncd exited at start: ${stderr}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`syncd not ready after 30 s: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    url,
    port,
    secret,
    /** @param {Parameters<typeof signToken>[1]} claims */
    token: (claims) => signToken(secret, claims),
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exit;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Everything the server holds for a token, straight from the HTTP API (pull from the start).
 * @param {string} url @param {string} token @param {string[]} types
 * @returns {Promise<Record<string, any[]>>}
 */
export async function serverRecords(url, token, types) {
  /** @type {Record<string, any[]>} */
  const out = Object.fromEntries(types.map((t) => [t, []]));
  let cursor;
  for (;;) {
    const res = await fetch(`${url}/api/client/sync/pull`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ entityTypes: types, limit: 10000, ...(cursor ? { cursor } : {}) }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`pull: ${res.status} ${JSON.stringify(body)}`);
    for (const t of types) out[t].push(...body.data[t]);
    cursor = body.cursor;
    if (!body.hasMore) return out;
  }
}

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls until `check` returns a truthy value; fails with `what` after `ms`.
 * @template T
 * @param {() => T | Promise<T>} check @param {string} what @param {number} [ms]
 * @returns {Promise<T>}
 */
export async function waitFor(check, what, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Retry delays short enough for tests (the defaults are 1 s doubling to 30 s). */
export const FAST = { initialMs: 100, maxMs: 400 };
