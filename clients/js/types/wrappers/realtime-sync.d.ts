/** @typedef {import('../realtime.js').WebSocketClass} WebSocketClass */
/** @typedef {import('../realtime.js').ServerMessage} ServerMessage */
/** @typedef {import('../backoff.js').BackoffOptions} BackoffOptions */
/** @typedef {'disconnected' | 'connecting' | 'connected'} RealtimeStatus */
/**
 * @typedef {object} RealtimeSyncOptions
 * @property {string} url the server's base URL
 * @property {string} [token]
 * @property {() => string | Promise<string>} [getToken]
 * @property {string} [clientId]
 * @property {WebSocketClass} [WebSocket] default the global WebSocket
 * @property {BackoffOptions} [backoff]
 * @property {number} [heartbeatMs]
 */
/** @typedef {{ type: string, action: 'create' | 'update' | 'delete' | 'remove', data: Record<string, any> }} DataUpdate */
/**
 * @typedef {object} RealtimeEvents
 * @property {RealtimeStatus} status
 * @property {ServerMessage} message
 */
export class RealtimeSync {
    /** @param {RealtimeSyncOptions} options */
    constructor(options: RealtimeSyncOptions);
    /** @type {Map<string, Set<(update: DataUpdate) => void>>} */
    callbacks: Map<string, Set<(update: DataUpdate) => void>>;
    /** @type {Emitter<RealtimeEvents>} */
    events: Emitter<RealtimeEvents>;
    /** @type {RealtimeStatus} */
    status: RealtimeStatus;
    socket: RealtimeSocket;
    connect(): void;
    disconnect(): void;
    /**
     * Calls `callback` with `{ type, action, data }` for every change of a record of `type`.
     * @param {string} type
     * @param {(update: DataUpdate) => void} callback
     * @returns {() => void} unsubscribe
     */
    subscribe(type: string, callback: (update: DataUpdate) => void): () => void;
    /**
     * @template {keyof RealtimeEvents} K
     * @param {K} name @param {(payload: RealtimeEvents[K]) => void} handler
     */
    on<K extends keyof RealtimeEvents>(name: K, handler: (payload: RealtimeEvents[K]) => void): () => void;
    /** @param {ServerMessage} message */
    receive(message: ServerMessage): void;
    /** @param {RealtimeStatus} status */
    setStatus(status: RealtimeStatus): void;
}
export type WebSocketClass = import("../realtime.js").WebSocketClass;
export type ServerMessage = import("../realtime.js").ServerMessage;
export type BackoffOptions = import("../backoff.js").BackoffOptions;
export type RealtimeStatus = "disconnected" | "connecting" | "connected";
export type RealtimeSyncOptions = {
    /**
     * the server's base URL
     */
    url: string;
    token?: string | undefined;
    getToken?: (() => string | Promise<string>) | undefined;
    clientId?: string | undefined;
    /**
     * default the global WebSocket
     */
    WebSocket?: import("../realtime.js").WebSocketClass | undefined;
    backoff?: import("../backoff.js").BackoffOptions | undefined;
    heartbeatMs?: number | undefined;
};
export type DataUpdate = {
    type: string;
    action: "create" | "update" | "delete" | "remove";
    data: Record<string, any>;
};
export type RealtimeEvents = {
    status: RealtimeStatus;
    message: ServerMessage;
};
import { Emitter } from '../events.js';
import { RealtimeSocket } from '../realtime.js';
