/**
 * The `exp` claim of a JWT in milliseconds, read without verifying (only to refresh in time);
 * undefined for a token that is not a readable JWT.
 * @param {string} token
 */
export function tokenExpiry(token: string): number | undefined;
/** @typedef {() => string | Promise<string>} GetToken */
export class TokenSource {
    /**
     * @param {{ token?: string, getToken?: GetToken }} options
     */
    constructor({ token, getToken }: {
        token?: string;
        getToken?: GetToken;
    });
    /** @type {GetToken | undefined} */
    getToken: GetToken | undefined;
    /** @type {string | undefined} */
    token: string | undefined;
    /** @type {Promise<string> | undefined} */
    pending: Promise<string> | undefined;
    /** @type {Set<(token: string) => void>} */
    listeners: Set<(token: string) => void>;
    /** The token to use now (asks `getToken` the first time). */
    current(): Promise<string>;
    /** True when a refresh can give another token than the one in use. */
    get refreshable(): boolean;
    /**
     * A fresh token from `getToken` (shared by concurrent callers). With a fixed token this is
     * the same token again.
     */
    refresh(): Promise<string>;
    /**
     * Called with every new token (the WebSocket re-authenticates with it).
     * @param {(token: string) => void} listener
     */
    onToken(listener: (token: string) => void): () => void;
}
export type GetToken = () => string | Promise<string>;
