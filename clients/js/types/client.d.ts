/** @param {ClientOptions} options */
export function createClient(options: ClientOptions): Client;
export class Client {
    /** @param {ClientOptions} options */
    constructor(options: ClientOptions);
    /** @internal */
    options: ClientOptions;
    /** @internal */
    storage: import("./storage/types.js").SyncStorage;
    /** @internal */
    tokens: TokenSource;
    /** @internal @type {Emitter<ClientEvents>} */
    events: Emitter<ClientEvents>;
    /** @internal */
    state: LocalState;
    /** @internal */
    http: HttpTransport;
    /** @internal */
    scheduler: Scheduler;
    /** @internal */
    socket: RealtimeSocket | null;
    /** @internal @type {SyncStatus} */
    currentStatus: SyncStatus;
    /** @internal @type {Promise<void> | null} */
    opening: Promise<void> | null;
    /** @internal */
    loaded: boolean;
    /** @internal */
    started: boolean;
    /** @internal */
    resetRequested: boolean;
    /** @internal @type {Promise<void>} */
    commits: Promise<void>;
    /** @internal @type {Error | null} */
    broken: Error | null;
    /** @internal */
    onOnline: () => void;
    /** @returns {SyncStatus} */
    get status(): SyncStatus;
    /**
     * @template {keyof ClientEvents} K
     * @param {K} name
     * @param {(payload: ClientEvents[K]) => void} handler
     * @returns {() => void} unsubscribe
     */
    on<K extends keyof ClientEvents>(name: K, handler: (payload: ClientEvents[K]) => void): () => void;
    /**
     * Creates or overwrites a record locally and queues it. Only the fields that differ from the
     * local copy are sent; fields the record leaves out keep their values (set null to clear).
     * @param {string} type
     * @param {Record<string, unknown>} record with `id` (a UUID) or without (a UUID v7 is made)
     * @returns {Promise<SyncRecord>} the local record
     */
    put(type: string, record: Record<string, unknown>): Promise<SyncRecord>;
    /**
     * Patches a local record and queues the fields that changed.
     * @param {string} type @param {string} id @param {Record<string, unknown>} patch
     * @returns {Promise<SyncRecord>}
     */
    update(type: string, id: string, patch: Record<string, unknown>): Promise<SyncRecord>;
    /**
     * Deletes a record locally and queues the delete.
     * @param {string} type @param {string} id
     */
    remove(type: string, id: string): Promise<void>;
    /** @param {string} type @param {string} id @returns {Promise<SyncRecord | undefined>} */
    get(type: string, id: string): Promise<SyncRecord | undefined>;
    /** @param {string} type @returns {Promise<SyncRecord[]>} */
    list(type: string): Promise<SyncRecord[]>;
    /** Number of local changes not yet acknowledged by the server. */
    pending(): Promise<number>;
    /**
     * Synchronous read for UI bindings: what `get` would give, or undefined before the storage
     * is loaded. The record is frozen; it is replaced, never changed, when it changes.
     * @param {string} type @param {string} id
     */
    peek(type: string, id: string): import("./records.js").SyncRecord | undefined;
    /**
     * Synchronous read for UI bindings: the live records of a type as one frozen array, the same
     * array until a record of the type changes.
     * @param {string} type
     */
    peekAll(type: string): import("./records.js").SyncRecord[];
    /** Starts syncing in the background (offline included); resolves once the storage is open. */
    start(): Promise<void>;
    /**
     * One full round: push everything queued, then pull to `hasMore: false`. Rejects with the
     * error that stopped the round (a background client retries on its own).
     * @returns {Promise<void>}
     */
    sync(): Promise<void>;
    /** Stops every timer and closes the socket; queued changes stay queued. */
    stop(): Promise<void>;
    /** stop(), then closes the storage (a file storage releases its directory). */
    close(): Promise<void>;
    /** @internal */
    open(): Promise<void>;
    /** @internal */
    /** @param {() => StorageOp[] | null} write */
    localWrite(write: () => StorageOp[] | null): Promise<void>;
    /** @internal */
    /**
     * Commits in call order; a failed commit leaves memory ahead of the storage, so the client
     * refuses further writes (a new client reloads what was stored).
     * @param {StorageOp[]} ops
     */
    commit(ops: StorageOp[]): Promise<void>;
    /** @internal */
    /** @param {AbortSignal} signal */
    round(signal: AbortSignal): Promise<void>;
    /** @internal */
    subscription(): Record<string, unknown>;
    /** @internal */
    /** @param {boolean} connected */
    onConnected(connected: boolean): void;
    /** @internal */
    /** @param {ServerMessage} message */
    onServerMessage(message: ServerMessage): void;
    /** @internal */
    /** @param {Partial<{ -readonly [K in keyof SyncStatus]: SyncStatus[K] }>} patch */
    setStatus(patch: Partial<{ -readonly [K in keyof SyncStatus]: SyncStatus[K]; }>): void;
}
export type SyncRecord = import("./records.js").SyncRecord;
export type Change = import("./records.js").Change;
export type PushResult = import("./local-state.js").PushResult;
export type SyncStorage = import("./storage/types.js").SyncStorage;
export type StorageOp = import("./storage/types.js").StorageOp;
export type WebSocketClass = import("./realtime.js").WebSocketClass;
export type ServerMessage = import("./realtime.js").ServerMessage;
export type BackoffOptions = import("./backoff.js").BackoffOptions;
export type ClientOptions = {
    /**
     * the server's base URL, e.g. `https://sync.example.com`
     */
    url: string;
    /**
     * a bearer token (JWT)
     */
    token?: string | undefined;
    /**
     * called for the first token and whenever a fresh one is needed; wins over `token`
     */
    getToken?: (() => string | Promise<string>) | undefined;
    /**
     * this installation's client id; default: one generated and kept in the storage
     */
    clientId?: string | undefined;
    /**
     * default `memoryStorage()`
     */
    storage?: import("./storage/types.js").SyncStorage | undefined;
    /**
     * types to pull and hear about; default every type the token may read
     */
    entityTypes?: string[] | undefined;
    /**
     * default the global WebSocket; null: no real-time channel
     */
    WebSocket?: import("./realtime.js").WebSocketClass | null | undefined;
    /**
     * default the global fetch
     */
    fetch?: typeof fetch | undefined;
    /**
     * changes per push (default 100)
     */
    pushBatchSize?: number | undefined;
    /**
     * records per pull page (default 1000)
     */
    pullLimit?: number | undefined;
    /**
     * retry and reconnect delays (default 1 s doubling to 30 s)
     */
    backoff?: import("./backoff.js").BackoffOptions | undefined;
    /**
     * WebSocket heartbeat interval (default 25000)
     */
    heartbeatMs?: number | undefined;
    /**
     * per HTTP request (default 30000)
     */
    requestTimeoutMs?: number | undefined;
};
export type SyncStatus = Readonly<{
    online: boolean;
    connected: boolean;
    pending: number;
    syncing: boolean;
    lastSyncAt: number | null;
    lastError: Error | null;
}>;
export type ClientEvents = {
    change: {
        type: string;
        id: string;
        record: SyncRecord | undefined;
        origin: "local" | "remote";
    };
    status: SyncStatus;
    conflict: {
        type: string;
        id: string;
        result: PushResult;
        record: SyncRecord | undefined;
    };
    rejected: {
        type: string;
        id: string;
        change: Change;
        error: SyncError;
    };
};
import { TokenSource } from './tokens.js';
import { Emitter } from './events.js';
import { LocalState } from './local-state.js';
import { HttpTransport } from './http.js';
import { Scheduler } from './scheduler.js';
import { RealtimeSocket } from './realtime.js';
import { SyncError } from './errors.js';
