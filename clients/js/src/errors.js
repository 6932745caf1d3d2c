// The one error type of the SDK. It carries what the server said (status, code, details) so that
// the sync loop can decide between "retry later", "refresh the token" and "reject the change".

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
  constructor(message, init = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'SyncError';
    /** @type {number} */
    this.status = init.status ?? 0;
    /** @type {string} */
    this.code = init.code ?? 'error';
    /** @type {ErrorDetail[]} */
    this.details = init.details ?? [];
    /** @type {number | undefined} */
    this.retryAfterMs = init.retryAfterMs;
  }

  /** True when the same request may succeed later unchanged: network, timeouts, 408, 425, 429, 5xx. */
  get retryable() {
    const s = this.status;
    return s === 0 || s === 408 || s === 425 || s === 429 || s >= 500;
  }
}

/**
 * The server's JSON error body turned into a SyncError.
 * @param {number} status
 * @param {unknown} body
 * @param {number | undefined} retryAfterMs
 */
export function errorFromResponse(status, body, retryAfterMs) {
  const error = /** @type {any} */ (body)?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const details = Array.isArray(error?.details) ? error.details : [];
  return new SyncError(message, { status, code, details, retryAfterMs });
}
