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
    constructor(baseUrl: string, token: string, options?: SyncClientOptions);
    baseUrl: string;
    clientId: string | undefined;
    retries: number;
    http: HttpTransport;
    /** @type {string | null} the pull cursor; replaces the seed's lastSyncTimestamp */
    cursor: string | null;
    /** @type {string | null} the server time of the last pull, for display */
    lastSyncTimestamp: string | null;
    /**
     * Pushes changes in any body form the server accepts: the map form `{ end_user: [...] }`, a
     * list of `{ entityType, op, id, baseVersion, data }`, or a whole body (`{ changes }`, or the
     * single-operation `{ table, operation, data }`). A retry after a lost
     * answer carries the same Idempotency-Key, so it never applies twice.
     * @param {Record<string, unknown[]> | unknown[] | { changes: unknown } | { table: string, operation: string, data: unknown }} changes
     * @returns {Promise<any>} the server's answer (`data`, `results`, `cursor`, …)
     */
    pushChanges(changes: Record<string, unknown[]> | unknown[] | {
        changes: unknown;
    } | {
        table: string;
        operation: string;
        data: unknown;
    }): Promise<any>;
    /**
     * Pulls everything new since the last call (everything the first time), all pages.
     * @param {string[]} [entityTypes]
     * @returns {Promise<{ success: true, data: Record<string, any[]>, cursor: string | null, hasMore: false, syncTimestamp: string | null }>}
     */
    pullData(entityTypes?: string[]): Promise<{
        success: true;
        data: Record<string, any[]>;
        cursor: string | null;
        hasMore: false;
        syncTimestamp: string | null;
    }>;
    /**
     * Records written through the REST routes that apps have not taken in yet.
     * @param {string[]} [entityTypes]
     */
    pullPendingData(entityTypes?: string[]): Promise<any>;
}
export type SyncClientOptions = {
    /**
     * sent as X-Client-Id
     */
    clientId?: string | undefined;
    fetch?: typeof fetch | undefined;
    getToken?: (() => string | Promise<string>) | undefined;
    /**
     * retries of a push that failed on the network, 429 or 5xx (default 3)
     */
    retries?: number | undefined;
};
import { HttpTransport } from '../http.js';
