// The seed apps' "Sync Service" client, kept for code written against it: pushChanges,
// pullData and pullPendingData over the HTTP API, with the pull cursor in place of the seed's
// lastSyncTimestamp. No local store and no outbox: use createClient for offline work.

import { HttpTransport } from '../http.js';
import { uuidv7 } from '../ids.js';
import { TokenSource } from '../tokens.js';

/**
 * @typedef {object} SyncClientOptions
 * @property {string} [clientId] sent as X-Client-Id
 * @property {typeof globalThis.fetch} [fetch]
 * @property {() => string | Promise<string>} [getToken]
 * @property {number} [retries] retries of a push that failed on the network, 429 or 5xx (default 3)
 */

export class SyncClient {
  /**
   * @param {string} baseUrl
   * @param {string} token
   * @param {SyncClientOptions} [options]
   */
  constructor(baseUrl, token, options = {}) {
    this.baseUrl = baseUrl;
    this.clientId = options.clientId;
    this.retries = options.retries ?? 3;
    this.http = new HttpTransport({
      url: baseUrl,
      tokens: new TokenSource({ token, getToken: options.getToken }),
      clientId: () => this.clientId,
      fetch: options.fetch,
    });
    /** @type {string | null} the pull cursor; replaces the seed's lastSyncTimestamp */
    this.cursor = null;
    /** @type {string | null} the server time of the last pull, for display */
    this.lastSyncTimestamp = null;
  }

  /**
   * Pushes changes in any body form the server accepts: the map form `{ end_user: [...] }`, a
   * list of `{ entityType, op, id, baseVersion, data }`, or a whole body. A retry after a lost
   * answer carries the same Idempotency-Key, so it never applies twice.
   * @param {Record<string, unknown[]> | unknown[] | { changes: unknown }} changes
   * @returns {Promise<any>} the server's answer (`data`, `results`, `cursor`, …)
   */
  async pushChanges(changes) {
    const body = Array.isArray(changes) || !('changes' in changes) ? { changes } : changes;
    const key = uuidv7();
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.http.request('/api/client/sync/push', { body, headers: { 'idempotency-key': key } });
      } catch (error) {
        const e = /** @type {import('../errors.js').SyncError} */ (error);
        if (!e.retryable || attempt >= this.retries) throw error;
        await sleep(e.retryAfterMs ?? 500 * 2 ** attempt);
      }
    }
  }

  /**
   * Pulls everything new since the last call (everything the first time), all pages.
   * @param {string[]} [entityTypes]
   * @returns {Promise<{ success: true, data: Record<string, any[]>, cursor: string | null, hasMore: false, syncTimestamp: string | null }>}
   */
  async pullData(entityTypes) {
    /** @type {Record<string, any[]>} */
    const data = {};
    for (;;) {
      /** @type {Record<string, unknown>} */
      const body = { limit: 1000 };
      if (this.cursor) body.cursor = this.cursor;
      if (entityTypes) body.entityTypes = entityTypes;
      const page = await this.http.request('/api/client/sync/pull', { body });
      for (const [type, records] of Object.entries(page.data ?? {})) {
        (data[type] ??= []).push(...(/** @type {any[]} */ (records)));
      }
      this.cursor = page.cursor ?? this.cursor;
      this.lastSyncTimestamp = page.syncTimestamp ?? this.lastSyncTimestamp;
      if (!page.hasMore) break;
    }
    return { success: true, data, cursor: this.cursor, hasMore: false, syncTimestamp: this.lastSyncTimestamp };
  }

  /**
   * Records written through the REST routes that apps have not taken in yet.
   * @param {string[]} [entityTypes]
   */
  async pullPendingData(entityTypes) {
    return this.http.request('/api/client/sync/pull-pending', { body: entityTypes ? { entityTypes } : {} });
  }
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
