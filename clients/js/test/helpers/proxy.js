// A test proxy on 127.0.0.1 in front of a syncd server: it forwards HTTP requests and WebSocket
// upgrades, and lets a test drop answers, answer in the server's place, go offline, or cut the
// WebSockets. Every HTTP request is logged with its parsed body and the answer's status.

import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/**
 * @typedef {object} Logged
 * @property {string} method
 * @property {string} path
 * @property {Record<string, string | string[] | undefined>} headers
 * @property {any} body
 * @property {number} at when it arrived (ms)
 * @property {number} [status] what the client got (undefined: nothing)
 * @property {Record<string, string | string[] | undefined>} [answerHeaders]
 * @property {number} [answeredAt]
 * @property {number} [upstreamStatus] what the server answered (also when the client did not get it)
 * @property {any} [upstreamBody]
 */

/**
 * What a hook may decide for one request: answer in the server's place, forward and drop the
 * answer (the server did the work, the client never hears of it), or forward (undefined).
 * @typedef {{ status: number, headers?: Record<string, string>, body?: unknown } | { dropAnswer: true, hold?: boolean, onAnswer?: () => void } | { serve: string, type: string } | undefined} Decision
 */

/**
 * @param {number} targetPort
 */
export async function startProxy(targetPort) {
  /** @type {Logged[]} */
  const log = [];
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  /** @type {Set<import('node:net').Socket>} */
  const upgrades = new Set();
  const proxy = {
    target: targetPort,
    offline: false,
    refuseUpgrades: false,
    upgradeCount: 0,
    /** @type {(req: Logged) => Decision | Promise<Decision>} */
    hook: () => undefined,
    log,
    url: '',
    /** Logged requests to one path. @param {string} path */
    requests(path) {
      return log.filter((r) => r.path === path);
    },
    /** Closes every WebSocket going through the proxy. */
    cutWebSockets() {
      for (const s of upgrades) s.destroy();
      upgrades.clear();
    },
    /** @param {boolean} offline */
    setOffline(offline) {
      proxy.offline = offline;
      proxy.refuseUpgrades = offline;
      if (offline) {
        proxy.cutWebSockets();
        for (const s of sockets) s.destroy();
      }
    },
    close() {
      for (const s of sockets) s.destroy();
      for (const s of upgrades) s.destroy();
      return new Promise((r) => server.close(() => r(undefined)));
    },
  };

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    /** @type {Logged} */
    const entry = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0], headers: req.headers, body: parse(raw), at: Date.now() };
    log.push(entry);
    if (proxy.offline) {
      req.socket.destroy();
      return;
    }
    const decision = await proxy.hook(entry);
    if (decision && 'serve' in decision) {
      res.writeHead(200, { 'content-type': decision.type });
      res.end(decision.serve);
      entry.status = 200;
      return;
    }
    if (decision && 'status' in decision) {
      const body = JSON.stringify(decision.body ?? {});
      res.writeHead(decision.status, { 'content-type': 'application/json', ...decision.headers });
      res.end(body);
      entry.status = decision.status;
      entry.answeredAt = Date.now();
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: proxy.target, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${proxy.target}` } },
      async (answer) => {
        const parts = [];
        for await (const chunk of answer) parts.push(chunk);
        entry.upstreamStatus = answer.statusCode;
        entry.upstreamBody = parse(Buffer.concat(parts));
        if (decision && 'dropAnswer' in decision) {
          // hold: the connection stays open and silent, as when a network drops packets.
          if (!decision.hold) req.socket.destroy();
          decision.onAnswer?.();
          return;
        }
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        delete headers.connection;
        const body = Buffer.concat(parts);
        headers['content-length'] = String(body.length);
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(body);
        entry.status = answer.statusCode;
        entry.answerHeaders = answer.headers;
        entry.answeredAt = Date.now();
      },
    );
    upstream.on('error', () => req.socket.destroy());
    upstream.end(raw);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    if (proxy.refuseUpgrades) {
      socket.destroy();
      return;
    }
    proxy.upgradeCount += 1;
    const upstream = connect(proxy.target, '127.0.0.1', () => {
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upgrades.add(socket);
    const end = () => {
      upgrades.delete(socket);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('close', end);
    socket.on('error', end);
    upstream.on('close', end);
    upstream.on('error', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}

/** @param {Buffer} raw */
function parse(raw) {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}
