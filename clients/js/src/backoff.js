// Retry delays: exponential with jitter, so that many apps coming back after an outage do not
// hit the server in the same second; a server's Retry-After is a floor, never shortened.

/**
 * @typedef {object} BackoffOptions
 * @property {number} [initialMs] first delay (default 1000)
 * @property {number} [maxMs] longest delay (default 30000)
 */

export class Backoff {
  /** @param {BackoffOptions} [options] */
  constructor(options = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 30000;
    this.attempt = 0;
  }

  /**
   * The delay before the next attempt; each call doubles the nominal delay up to the maximum.
   * The result is the nominal delay ±20 %, at least `floorMs` (a Retry-After).
   * @param {number} [floorMs]
   */
  next(floorMs = 0) {
    const nominal = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const jittered = nominal * (0.8 + 0.4 * Math.random());
    // A Retry-After gets a little jitter of its own on top, never below it.
    const floor = floorMs > 0 ? floorMs + Math.random() * Math.min(250, floorMs * 0.1) : 0;
    return Math.max(jittered, floor);
  }

  reset() {
    this.attempt = 0;
  }
}

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable.
 * @param {string | null | undefined} value
 * @param {number} [now]
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
