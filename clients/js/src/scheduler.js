// When rounds run. One round at a time; requests that arrive during a round are served by the
// next one. After a failure the next background round waits out a backoff (or Retry-After);
// an explicit sync() never waits for it.

import { Backoff } from './backoff.js';

/** @typedef {import('./backoff.js').BackoffOptions} BackoffOptions */

export class Scheduler {
  /**
   * @param {object} options
   * @param {(signal: AbortSignal) => Promise<void>} options.run one round
   * @param {BackoffOptions} [options.backoff]
   * @param {(error: unknown) => void} options.onError
   * @param {() => void} options.onSuccess
   */
  constructor(options) {
    this.run = options.run;
    this.onError = options.onError;
    this.onSuccess = options.onSuccess;
    this.backoff = new Backoff(options.backoff);
    this.active = false;
    this.retrying = false;
    this.again = false;
    /** @type {{ resolve: () => void, reject: (e: unknown) => void }[]} */
    this.waiters = [];
    /** @type {Promise<void> | null} */
    this.running = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {AbortController | null} */
    this.abort = null;
  }

  /** Background rounds from now on, the first one at once. */
  start() {
    this.active = true;
    this.now();
  }

  /** No more background rounds; the round in progress is aborted (its batch stays stored). */
  async stop() {
    this.active = false;
    this.retrying = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
    await this.running?.catch(() => {});
  }

  /** A round that starts after this call; resolves when it completes, rejects with its error. */
  request() {
    return new Promise((resolve, reject) => {
      /** @type {{ resolve: () => void, reject: (e: unknown) => void }[]} */ (this.waiters).push({ resolve: () => resolve(undefined), reject });
      this.kick();
    });
  }

  /** Something changed (a write, a notification): a round soon, unless waiting out a backoff. */
  poke() {
    if (!this.active || this.retrying) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, 0);
    }
  }

  /** The server is reachable again (socket authenticated, browser online): a round now. */
  now() {
    if (!this.active) return;
    this.retrying = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.kick();
  }

  kick() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  async loop() {
    for (;;) {
      const waiters = this.waiters.splice(0);
      this.again = false;
      const abort = (this.abort = new AbortController());
      try {
        await this.run(abort.signal);
      } catch (error) {
        for (const w of waiters) w.reject(error);
        this.onError(error);
        if (this.active && !abort.signal.aborted) this.retryLater(error);
        if (this.waiters.length === 0) return;
        continue;
      } finally {
        this.abort = null;
      }
      this.backoff.reset();
      for (const w of waiters) w.resolve();
      this.onSuccess();
      if (!this.again && this.waiters.length === 0) return;
    }
  }

  /** @param {unknown} error */
  retryLater(error) {
    this.retrying = true;
    clearTimeout(this.timer);
    const floor = /** @type {{ retryAfterMs?: number }} */ (error)?.retryAfterMs ?? 0;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.retrying = false;
      this.kick();
    }, this.backoff.next(floor));
  }
}
