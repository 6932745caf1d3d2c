/** @typedef {import('./backoff.js').BackoffOptions} BackoffOptions */
export class Scheduler {
    /**
     * @param {object} options
     * @param {(signal: AbortSignal) => Promise<void>} options.run one round
     * @param {BackoffOptions} [options.backoff]
     * @param {(error: unknown) => void} options.onError
     * @param {() => void} options.onSuccess
     */
    constructor(options: {
        run: (signal: AbortSignal) => Promise<void>;
        backoff?: import("./backoff.js").BackoffOptions | undefined;
        onError: (error: unknown) => void;
        onSuccess: () => void;
    });
    run: (signal: AbortSignal) => Promise<void>;
    onError: (error: unknown) => void;
    onSuccess: () => void;
    backoff: Backoff;
    active: boolean;
    retrying: boolean;
    again: boolean;
    /** @type {{ resolve: () => void, reject: (e: unknown) => void }[]} */
    waiters: {
        resolve: () => void;
        reject: (e: unknown) => void;
    }[];
    /** @type {Promise<void> | null} */
    running: Promise<void> | null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    timer: ReturnType<typeof setTimeout> | undefined;
    /** @type {AbortController | null} */
    abort: AbortController | null;
    /** Background rounds from now on, the first one at once. */
    start(): void;
    /** No more background rounds; the round in progress is aborted (its batch stays stored). */
    stop(): Promise<void>;
    /** A round that starts after this call; resolves when it completes, rejects with its error. */
    request(): Promise<any>;
    /** Something changed (a write, a notification): a round soon, unless waiting out a backoff. */
    poke(): void;
    /** The server is reachable again (socket authenticated, browser online): a round now. */
    now(): void;
    kick(): void;
    loop(): Promise<void>;
    /** @param {unknown} error */
    retryLater(error: unknown): void;
}
export type BackoffOptions = import("./backoff.js").BackoffOptions;
import { Backoff } from './backoff.js';
