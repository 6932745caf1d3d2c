// The WebSocket side: connect, authenticate with the first message (the token never travels in a
// URL), subscribe with the pull cursor, keep the session alive with heartbeats and fresh tokens,
// and reconnect with backoff after any close. It only tells its owner what the server said; the
// pull loop decides what to fetch.

import { Backoff } from './backoff.js';
import { tokenExpiry } from './tokens.js';

/** @typedef {import('./tokens.js').TokenSource} TokenSource */
/** @typedef {import('./backoff.js').BackoffOptions} BackoffOptions */

/**
 * The part of the WebSocket API the SDK uses: the browser's class and the `ws` package both fit.
 * @typedef {object} WebSocketLike
 * @property {number} readyState
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {((ev: any) => void) | null} onopen
 * @property {((ev: any) => void) | null} onmessage
 * @property {((ev: any) => void) | null} onclose
 * @property {((ev: any) => void) | null} onerror
 */
/** @typedef {new (url: string) => WebSocketLike} WebSocketClass */

/**
 * A server message: `{ type, data, timestamp }`.
 * @typedef {{ type: string, data?: any, timestamp?: string }} ServerMessage
 */

const OPEN = 1;
/** Close codes after which a new token is needed (4401) or the server wants a long pause (1013). */
const UNAUTHENTICATED = 4401;
const TRY_LATER = 1013;

export class RealtimeSocket {
  /**
   * @param {object} options
   * @param {string} options.url the server's base URL (http or https)
   * @param {WebSocketClass} options.WebSocket
   * @param {TokenSource} options.tokens
   * @param {() => string | undefined} options.clientId
   * @param {() => Record<string, unknown>} options.subscription the fields of the `subscribe` message sent after each authentication
   * @param {(message: ServerMessage) => void} options.onMessage every parsed server message
   * @param {(connected: boolean) => void} options.onConnected open and authenticated, or not any more
   * @param {BackoffOptions} [options.backoff]
   * @param {number} [options.heartbeatMs] default 25000
   */
  constructor(options) {
    this.options = options;
    this.backoff = new Backoff(options.backoff);
    this.heartbeatMs = options.heartbeatMs ?? 25000;
    /** @type {WebSocketLike | null} */
    this.ws = null;
    this.running = false;
    this.authenticated = false;
    this.needFreshToken = false;
    this.lastSeen = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.reconnectTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.heartbeatTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.refreshTimer = undefined;
    /** @type {(() => void) | undefined} */
    this.unlistenToken = undefined;
  }

  get connected() {
    return this.authenticated;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.backoff.reset();
    // A token refreshed for any reason (an HTTP 401 too) extends the open session in place.
    this.unlistenToken = this.options.tokens.onToken((token) => {
      if (this.authenticated) this.send({ type: 'authenticate', token });
    });
    this.open();
  }

  stop() {
    this.running = false;
    this.unlistenToken?.();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.refreshTimer);
    const ws = this.ws;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(1000, 'client stopped');
      } catch {
        // already closing
      }
    }
    this.gone();
  }

  open() {
    const { url, clientId } = this.options;
    const id = clientId();
    const target = `${url.replace(/^http/, 'ws').replace(/\/+$/, '')}/api/client/sync/ws${id ? `?clientId=${encodeURIComponent(id)}` : ''}`;
    /** @type {WebSocketLike} */
    let ws;
    try {
      ws = new this.options.WebSocket(target);
    } catch {
      this.scheduleReconnect(0);
      return;
    }
    this.ws = ws;
    this.lastSeen = Date.now();
    ws.onopen = () => this.authenticate(ws);
    ws.onmessage = (ev) => this.receive(ws, ev.data);
    ws.onclose = (ev) => this.closed(ws, typeof ev?.code === 'number' ? ev.code : 1006);
    ws.onerror = () => {}; // a close event follows
    this.heartbeatTimer = setInterval(() => this.beat(ws), this.heartbeatMs);
  }

  /** @param {WebSocketLike} ws */
  async authenticate(ws) {
    try {
      const token = await this.options.tokens.current();
      if (ws === this.ws) this.send({ type: 'authenticate', token });
    } catch {
      if (ws === this.ws) this.kill(ws);
    }
  }

  /** @param {WebSocketLike} ws @param {unknown} raw */
  receive(ws, raw) {
    if (ws !== this.ws) return;
    this.lastSeen = Date.now();
    /** @type {ServerMessage} */
    let message;
    try {
      message = JSON.parse(typeof raw === 'string' ? raw : String(raw));
    } catch {
      return;
    }
    if (!message || typeof message.type !== 'string') return;
    if (message.type === 'authenticated' && !this.authenticated) {
      this.authenticated = true;
      this.backoff.reset();
      this.send({ type: 'subscribe', ...this.options.subscription() });
      this.scheduleRefresh();
      this.options.onConnected(true);
    } else if (message.type === 'error') {
      const code = message.data?.code;
      if (code === 'token_expired' || (code === 'unauthorized' && !this.authenticated)) this.needFreshToken = true;
    }
    this.options.onMessage(message);
  }

  /** @param {WebSocketLike} ws @param {number} code */
  closed(ws, code) {
    if (ws !== this.ws) return;
    this.detach(ws);
    this.gone();
    if (!this.running) return;
    if (code === UNAUTHENTICATED) this.needFreshToken = true;
    this.scheduleReconnect(code === TRY_LATER ? 30000 : 0);
  }

  /** @param {number} floorMs */
  scheduleReconnect(floorMs) {
    clearTimeout(this.reconnectTimer);
    const delay = this.backoff.next(floorMs);
    this.reconnectTimer = setTimeout(async () => {
      if (!this.running) return;
      if (this.needFreshToken && this.options.tokens.refreshable) {
        this.needFreshToken = false;
        try {
          await this.options.tokens.refresh();
        } catch {
          // try the connection anyway; a refusal brings us back here
        }
      }
      if (this.running && !this.ws) this.open();
    }, delay);
  }

  /** Refreshes the token a minute before it expires and re-authenticates in place. */
  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    const { tokens } = this.options;
    if (!tokens.refreshable || tokens.token === undefined) return;
    const exp = tokenExpiry(tokens.token);
    if (exp === undefined) return;
    const delay = Math.max(5000, exp - Date.now() - 60000);
    if (delay > 2 ** 31 - 1) return;
    this.refreshTimer = setTimeout(() => {
      if (!this.authenticated) return;
      tokens.refresh().then(
        () => this.scheduleRefresh(),
        () => this.scheduleRefresh(),
      );
    }, delay);
  }

  /** Sends a heartbeat; a connection silent for two beats and more is dead (half-open). */
  /** @param {WebSocketLike} ws */
  beat(ws) {
    if (ws !== this.ws) return;
    if (Date.now() - this.lastSeen > this.heartbeatMs * 2 + 5000) {
      this.kill(ws);
      return;
    }
    if (this.authenticated) this.send({ type: 'heartbeat' });
  }

  /** Gives up on a socket without waiting for its close handshake. @param {WebSocketLike} ws */
  kill(ws) {
    try {
      /** @type {any} */ (ws).terminate?.();
      ws.close();
    } catch {
      // nothing more to do
    }
    this.closed(ws, 1006);
  }

  /** Sends the subscription again (its fields changed). */
  resubscribe() {
    if (this.authenticated) this.send({ type: 'subscribe', ...this.options.subscription() });
  }

  /** @param {Record<string, unknown>} message */
  send(message) {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return;
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // the close event will follow
    }
  }

  /** @param {WebSocketLike} ws */
  detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
  }

  gone() {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.refreshTimer);
    this.ws = null;
    const was = this.authenticated;
    this.authenticated = false;
    if (was) this.options.onConnected(false);
  }
}
