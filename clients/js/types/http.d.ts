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
    constructor(options: {
        url: string;
        tokens: TokenSource;
        clientId: () => string | undefined;
        fetch?: typeof fetch | undefined;
        timeoutMs?: number | undefined;
        onReach?: ((reached: boolean) => void) | undefined;
    });
    base: string;
    tokens: import("./tokens.js").TokenSource;
    clientId: () => string | undefined;
    /** @type {Fetch} */
    fetch: Fetch;
    timeoutMs: number;
    onReach: (reached: boolean) => void;
    /**
     * A JSON request; resolves with the parsed body of a 2xx answer, rejects with a SyncError.
     * A 401 asks the token source for a fresh token once and repeats the request with it.
     * @param {string} path
     * @param {RequestOptions} [options]
     * @returns {Promise<any>}
     */
    request(path: string, options?: RequestOptions): Promise<any>;
    /**
     * @param {string} path
     * @param {RequestOptions} options
     * @param {string} token
     */
    once(path: string, options: RequestOptions, token: string): Promise<any>;
}
export type TokenSource = import("./tokens.js").TokenSource;
export type Fetch = typeof globalThis.fetch;
export type RequestOptions = {
    method?: "GET" | "POST" | undefined;
    body?: unknown;
    headers?: Record<string, string> | undefined;
    signal?: AbortSignal | undefined;
    /**
     * overrides the client's id for this request (a stored batch keeps the id it was formed with)
     */
    clientId?: string | undefined;
};
