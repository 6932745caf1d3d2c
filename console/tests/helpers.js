// The console's browser-test harness: a real `syncd` in a temporary directory on a free port of
// 127.0.0.1, tokens signed with node:crypto, Debian's Chromium driven by playwright-core (never a
// downloaded browser), a watch on every page for uncaught exceptions, console errors and failed
// requests, and screenshots at 1280×800 and 390×844.

import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const screenshotDir = join(repoRoot, 'target', 'console-screenshots');
const CHROMIUM = '/usr/bin/chromium';

/** The flags Chromium runs with; without the background-networking ones it keeps calling home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs Debian's chromium when it is missing (a fresh machine); never downloads a browser build. */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  execFileSync('sh', ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium'], {
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is still missing after apt-get install chromium`);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolvePort(port));
    });
  });
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** An HS256 JWT. */
export function sign(claims, secret) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const mac = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${mac}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `syncd` (SYNCD_BIN, else target/debug/syncd) in a fresh directory.
 * @param {{ env?: Record<string, string>, config?: string }} [options]
 */
export async function startServer(options = {}) {
  const bin = process.env.SYNCD_BIN || join(repoRoot, 'target', 'debug', 'syncd');
  if (!existsSync(bin)) throw new Error(`no syncd binary at ${bin}: run cargo build --bin syncd (or set SYNCD_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), 'syncd-console-'));
  const port = await freePort();
  const secret = randomBytes(32).toString('hex');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    SYNCD_BIND: `127.0.0.1:${port}`,
    SYNCD_DATABASE_URL: `sqlite://${join(dir, 'syncd.db')}?mode=rwc`,
    SYNCD_JWT_SECRET: secret,
    SYNCD_ENV: 'development',
    SYNCD_LOG: 'warn',
    ...options.env,
  };
  if (options.config) {
    writeFileSync(join(dir, 'syncd.toml'), options.config);
    env.SYNCD_CONFIG = join(dir, 'syncd.toml');
  }
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`syncd exited at start (${child.exitCode}):\n${output}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`syncd did not become ready on ${url}:\n${output}`);
    }
    await sleep(50);
  }
  let stopped = false;
  const server = {
    url,
    port,
    secret,
    dir,
    output: () => output,
    /** A token of `tenant` (default `dev`); `extra` adds claims such as roles or client_id. */
    token(extra = {}, tenant = 'dev') {
      const now = Math.floor(Date.now() / 1000);
      return sign({ sub: 'console-test', tenant_id: tenant, iat: now, exp: now + 3600, ...extra }, secret);
    },
    /** JSON over HTTP as an app would send it: `(method, path, body, { token, clientId })`. */
    async http(method, path, body, { token = server.token({ roles: ['admin'] }), clientId } = {}) {
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
      if (clientId) headers['X-Client-Id'] = clientId;
      const r = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = await r.json();
      return { status: r.status, body: json };
    },
    /** Stops the server (SIGTERM to its pid, SIGKILL after 10 s) and removes its directory. */
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  ensureChromium();
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'syncd-console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Watches a page: every uncaught exception, console error and failed request is a problem,
 * except requests the test expects to fail (`allow`: URL path patterns) and, once the test says
 * the server is gone, the failures that follow from that.
 * The browser's own "Failed to load resource" console lines are judged by the request they
 * belong to (seen as a response or a failed request), not by their text.
 * @param {import('playwright-core').Page} page
 */
export function watch(page) {
  const problems = [];
  const state = { allow: [], serverGone: false };
  const allowed = (url, status) => state.serverGone
    || state.allow.some((a) => a.path.test(new URL(url).pathname) && (a.status === undefined || a.status === status));
  page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.stack || error.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (text.startsWith('Failed to load resource')) return;
    if (state.serverGone && /WebSocket connection to .* failed/.test(text)) return;
    if (state.allow.some((a) => a.ws && /WebSocket connection to .* failed/.test(text))) return;
    problems.push(`console error: ${text}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && !allowed(response.url(), response.status())) {
      problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });
  page.on('requestfailed', (request) => {
    if (!allowed(request.url(), 0)) problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
  });
  return {
    problems,
    /** Expect failures of requests whose path matches (with this status, if given). */
    allow(path, status, extra = {}) {
      state.allow.push({ path, status, ...extra });
    },
    serverGone() {
      state.serverGone = true;
    },
    assertClean() {
      if (problems.length) throw new Error(`the page had problems:\n  ${problems.join('\n  ')}`);
    },
  };
}

/** Saves `name-1280x800.png` and `name-390x844.png` of the page, then restores the large size. */
export async function screenshots(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  for (const [w, h] of [[1280, 800], [390, 844]]) {
    await page.setViewportSize({ width: w, height: h });
    await sleep(150);
    await page.screenshot({ path: join(screenshotDir, `${name}-${w}x${h}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Waits until `fn` returns a truthy value (polled), or fails with `what`. */
export async function eventually(fn, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(100);
  }
}
