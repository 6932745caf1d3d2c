export class RealtimeSocket {
    /**
     * @param {object} options
     * @param {string} options.url the server's base URL (http or https)
     * @param {WebSocketClass} options.WebSocket
     * @param {TokenSource} options.tokens
     * @param {() => string | undefined} options.clientId
     * @param {() => Record<string, unknown>} options.subscription the fields of the `subscribe` message sent after each authentication
     * @param {(message: ServerMessage) => void} options.onMessage every parsed server message
     * @param {(connected: boolean) => void} options.onConnected open and authenticated, or not any more
     * @param {BackoffOptions} [options.backoff]
     * @param {number} [options.heartbeatMs] default 25000
     */
    constructor(options: {
        url: string;
        WebSocket: WebSocketClass;
        tokens: TokenSource;
        clientId: () => string | undefined;
        subscription: () => Record<string, unknown>;
        onMessage: (message: ServerMessage) => void;
        onConnected: (connected: boolean) => void;
        backoff?: import("./backoff.js").BackoffOptions | undefined;
        heartbeatMs?: number | undefined;
    });
    options: {
        url: string;
        WebSocket: WebSocketClass;
        tokens: TokenSource;
        clientId: () => string | undefined;
        subscription: () => Record<string, unknown>;
        onMessage: (message: ServerMessage) => void;
        onConnected: (connected: boolean) => void;
        backoff?: import("./backoff.js").BackoffOptions | undefined;
        heartbeatMs?: number | undefined;
    };
    backoff: Backoff;
    heartbeatMs: number;
    /** @type {WebSocketLike | null} */
    ws: WebSocketLike | null;
    running: boolean;
    authenticated: boolean;
    needFreshToken: boolean;
    lastSeen: number;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    reconnectTimer: ReturnType<typeof setTimeout> | undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    heartbeatTimer: ReturnType<typeof setInterval> | undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    refreshTimer: ReturnType<typeof setTimeout> | undefined;
    /** @type {(() => void) | undefined} */
    unlistenToken: (() => void) | undefined;
    get connected(): boolean;
    start(): void;
    stop(): void;
    open(): void;
    /** @param {WebSocketLike} ws */
    authenticate(ws: WebSocketLike): Promise<void>;
    /** @param {WebSocketLike} ws @param {unknown} raw */
    receive(ws: WebSocketLike, raw: unknown): void;
    /** @param {WebSocketLike} ws @param {number} code */
    closed(ws: WebSocketLike, code: number): void;
    /** @param {number} floorMs */
    scheduleReconnect(floorMs: number): void;
    /** Refreshes the token a minute before it expires and re-authenticates in place. */
    scheduleRefresh(): void;
    /** Sends a heartbeat; a connection silent for two beats and more is dead (half-open). */
    /** @param {WebSocketLike} ws */
    beat(ws: WebSocketLike): void;
    /** Gives up on a socket without waiting for its close handshake. @param {WebSocketLike} ws */
    kill(ws: WebSocketLike): void;
    /** Sends the subscription again (its fields changed). */
    resubscribe(): void;
    /** @param {Record<string, unknown>} message */
    send(message: Record<string, unknown>): void;
    /** @param {WebSocketLike} ws */
    detach(ws: WebSocketLike): void;
    gone(): void;
}
export type TokenSource = import("./tokens.js").TokenSource;
export type BackoffOptions = import("./backoff.js").BackoffOptions;
/**
 * The part of the WebSocket API the SDK uses: the browser's class and the `ws` package both fit.
 */
export type WebSocketLike = {
    readyState: number;
    send: (data: string) => void;
    close: (code?: number, reason?: string) => void;
    onopen: ((ev: any) => void) | null;
    onmessage: ((ev: any) => void) | null;
    onclose: ((ev: any) => void) | null;
    onerror: ((ev: any) => void) | null;
};
export type WebSocketClass = new (url: string) => WebSocketLike;
/**
 * A server message: `{ type, data, timestamp }`.
 */
export type ServerMessage = {
    type: string;
    data?: any;
    timestamp?: string;
};
import { Backoff } from './backoff.js';
