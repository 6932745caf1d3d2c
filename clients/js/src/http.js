// The HTTP side: one JSON POST/GET helper with the headers every request needs, a timeout, one
// token refresh on 401, and errors turned into SyncError. It knows nothing about outboxes.

import { SyncError, errorFromResponse } from './errors.js';
import { parseRetryAfter } from './backoff.js';

/** @typedef {import('./tokens.js').TokenSource} TokenSource */
/** @typedef {typeof globalThis.fetch} Fetch */

/**
 * @typedef {object} RequestOptions
 * @property {'GET' | 'POST'} [method]
 * @property {unknown} [body]
 * @property {Record<string, string>} [headers]
 * @property {AbortSignal} [signal]
 * @property {string} [clientId] overrides the client's id for this request (a stored batch keeps the id it was formed with)
 */

export class HttpTransport {
  /**
   * @param {object} options
   * @param {string} options.url the server's base URL
   * @param {TokenSource} options.tokens
   * @param {() => string | undefined} options.clientId
   * @param {Fetch} [options.fetch]
   * @param {number} [options.timeoutMs] per request (default 30000)
   * @param {(reached: boolean) => void} [options.onReach] told after every request whether the server answered
   */
  constructor(options) {
    this.base = options.url.replace(/\/+$/, '');
    this.tokens = options.tokens;
    this.clientId = options.clientId;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new TypeError('no fetch: pass `fetch` to createClient');
    // Called unbound: a browser's fetch throws "Illegal invocation" when `this` is not window.
    /** @type {Fetch} */
    this.fetch = (input, init) => fetchImpl(input, init);
    this.timeoutMs = options.timeoutMs ?? 30000;
    this.onReach = options.onReach ?? (() => {});
  }

  /**
   * A JSON request; resolves with the parsed body of a 2xx answer, rejects with a SyncError.
   * A 401 asks the token source for a fresh token once and repeats the request with it.
   * @param {string} path
   * @param {RequestOptions} [options]
   * @returns {Promise<any>}
   */
  async request(path, options = {}) {
    const token = await this.tokens.current();
    try {
      return await this.once(path, options, token);
    } catch (error) {
      if (!(error instanceof SyncError) || error.status !== 401 || !this.tokens.refreshable) throw error;
      const fresh = await this.tokens.refresh();
      return this.once(path, options, fresh);
    }
  }

  /**
   * @param {string} path
   * @param {RequestOptions} options
   * @param {string} token
   */
  async once(path, options, token) {
    /** @type {Record<string, string>} */
    const headers = { ...options.headers, authorization: `Bearer ${token}` };
    const clientId = options.clientId ?? this.clientId();
    if (clientId) headers['x-client-id'] = clientId;
    const init = /** @type {RequestInit} */ ({ method: options.method ?? 'POST', headers });
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.timeoutMs);
    const onAbort = () => timeout.abort();
    options.signal?.addEventListener('abort', onAbort);
    init.signal = timeout.signal;
    /** @type {Response} */
    let response;
    let text;
    try {
      response = await this.fetch(this.base + path, init);
      text = await response.text();
    } catch (cause) {
      this.onReach(false);
      const aborted = timeout.signal.aborted;
      const byCaller = options.signal?.aborted === true;
      const code = byCaller ? 'aborted' : aborted ? 'timeout' : 'network';
      const reason = code === 'network' ? `the server could not be reached (${/** @type {Error} */ (cause)?.message ?? cause})` : code;
      throw new SyncError(`${init.method} ${path}: ${reason}`, {
        code,
        cause,
      });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    this.onReach(true);
    let body;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch (cause) {
      if (response.ok) {
        throw new SyncError(`${init.method} ${path}: the answer is not JSON`, { status: response.status, code: 'bad_response', cause });
      }
    }
    if (!response.ok) {
      throw errorFromResponse(response.status, body, parseRetryAfter(response.headers.get('retry-after')));
    }
    return body;
  }
}
