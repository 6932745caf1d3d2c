/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable.
 * @param {string | null | undefined} value
 * @param {number} [now]
 */
export function parseRetryAfter(value: string | null | undefined, now?: number): number | undefined;
/**
 * @typedef {object} BackoffOptions
 * @property {number} [initialMs] first delay (default 1000)
 * @property {number} [maxMs] longest delay (default 30000)
 */
export class Backoff {
    /** @param {BackoffOptions} [options] */
    constructor(options?: BackoffOptions);
    initialMs: number;
    maxMs: number;
    attempt: number;
    /**
     * The delay before the next attempt; each call doubles the nominal delay up to the maximum.
     * The result is the nominal delay ±20 %, at least `floorMs` (a Retry-After).
     * @param {number} [floorMs]
     */
    next(floorMs?: number): number;
    reset(): void;
}
export type BackoffOptions = {
    /**
     * first delay (default 1000)
     */
    initialMs?: number | undefined;
    /**
     * longest delay (default 30000)
     */
    maxMs?: number | undefined;
};
