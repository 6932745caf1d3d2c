/**
 * The server's JSON error body turned into a SyncError.
 * @param {number} status
 * @param {unknown} body
 * @param {number | undefined} retryAfterMs
 */
export function errorFromResponse(status: number, body: unknown, retryAfterMs: number | undefined): SyncError;
/**
 * @typedef {object} ErrorDetail
 * @property {number} [index] position of the change in the push body
 * @property {string} [entityType]
 * @property {string} [field]
 * @property {string} message
 */
export class SyncError extends Error {
    /**
     * @param {string} message
     * @param {object} [init]
     * @param {number} [init.status] HTTP status; 0 when the server was not reached
     * @param {string} [init.code] the error code of the server's body, `network`, `timeout` or `storage`
     * @param {ErrorDetail[]} [init.details]
     * @param {number} [init.retryAfterMs] from a `Retry-After` header
     * @param {unknown} [init.cause]
     */
    constructor(message: string, init?: {
        status?: number | undefined;
        code?: string | undefined;
        details?: ErrorDetail[] | undefined;
        retryAfterMs?: number | undefined;
        cause?: unknown;
    });
    /** @type {number} */
    status: number;
    /** @type {string} */
    code: string;
    /** @type {ErrorDetail[]} */
    details: ErrorDetail[];
    /** @type {number | undefined} */
    retryAfterMs: number | undefined;
    /** True when the same request may succeed later unchanged: network, timeouts, 408, 425, 429, 5xx. */
    get retryable(): boolean;
}
export type ErrorDetail = {
    /**
     * position of the change in the push body
     */
    index?: number | undefined;
    entityType?: string | undefined;
    field?: string | undefined;
    message: string;
};
