// createClient(): the public face of the SDK (SPEC §12). It wires the local state, the storage,
// the HTTP transport, the WebSocket and the scheduler together; each of them lives in its own
// module and knows nothing of the others.

import { Emitter } from './events.js';
import { SyncError } from './errors.js';
import { HttpTransport } from './http.js';
import { uuidv7 } from './ids.js';
import { LocalState } from './local-state.js';
import { pullAll } from './pull.js';
import { pushAll } from './push.js';
import { RealtimeSocket } from './realtime.js';
import { Scheduler } from './scheduler.js';
import { memoryStorage } from './storage/memory.js';
import { TokenSource } from './tokens.js';

/** @typedef {import('./records.js').SyncRecord} SyncRecord */
/** @typedef {import('./records.js').Change} Change */
/** @typedef {import('./local-state.js').PushResult} PushResult */
/** @typedef {import('./storage/types.js').SyncStorage} SyncStorage */
/** @typedef {import('./storage/types.js').StorageOp} StorageOp */
/** @typedef {import('./realtime.js').WebSocketClass} WebSocketClass */
/** @typedef {import('./realtime.js').ServerMessage} ServerMessage */
/** @typedef {import('./backoff.js').BackoffOptions} BackoffOptions */

/**
 * @typedef {object} ClientOptions
 * @property {string} url the server's base URL, e.g. `https://sync.example.com`
 * @property {string} [token] a bearer token (JWT)
 * @property {() => string | Promise<string>} [getToken] called for the first token and whenever a fresh one is needed; wins over `token`
 * @property {string} [clientId] this installation's client id; default: one generated and kept in the storage
 * @property {SyncStorage} [storage] default `memoryStorage()`
 * @property {string[]} [entityTypes] types to pull and hear about; default every type the token may read
 * @property {WebSocketClass | null} [WebSocket] default the global WebSocket; null: no real-time channel
 * @property {typeof globalThis.fetch} [fetch] default the global fetch
 * @property {number} [pushBatchSize] changes per push (default 100)
 * @property {number} [pullLimit] records per pull page (default 1000)
 * @property {BackoffOptions} [backoff] retry and reconnect delays (default 1 s doubling to 30 s)
 * @property {number} [heartbeatMs] WebSocket heartbeat interval (default 25000)
 * @property {number} [requestTimeoutMs] per HTTP request (default 30000)
 */

/**
 * @typedef {Readonly<{ online: boolean, connected: boolean, pending: number, syncing: boolean, lastSyncAt: number | null, lastError: Error | null }>} SyncStatus
 */

/**
 * @typedef {object} ClientEvents
 * @property {{ type: string, id: string, record: SyncRecord | undefined, origin: 'local' | 'remote' }} change
 * @property {SyncStatus} status
 * @property {{ type: string, id: string, result: PushResult, record: SyncRecord | undefined }} conflict
 * @property {{ type: string, id: string, change: Change, error: SyncError }} rejected
 */

const EVENTS = /** @type {const} */ (['change', 'status', 'conflict', 'rejected']);
const TYPE_NAME = /^[a-z][a-z0-9_]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** @param {ClientOptions} options */
export function createClient(options) {
  return new Client(options);
}

export class Client {
  /** @param {ClientOptions} options */
  constructor(options) {
    if (!options || typeof options.url !== 'string' || !/^https?:\/\//.test(options.url)) {
      throw new TypeError('createClient needs `url`, an http(s) URL');
    }
    this.options = options;
    this.storage = options.storage ?? memoryStorage();
    this.tokens = new TokenSource(options);
    /** @type {Emitter<ClientEvents>} */
    this.events = new Emitter(EVENTS);
    this.state = new LocalState((type, id, record, origin) => {
      if (this.events.has('change')) this.events.emit('change', { type, id, record, origin });
    });
    this.http = new HttpTransport({
      url: options.url,
      tokens: this.tokens,
      clientId: () => this.state.clientId,
      fetch: options.fetch,
      timeoutMs: options.requestTimeoutMs,
      onReach: (online) => this.setStatus({ online }),
    });
    this.scheduler = new Scheduler({
      run: (signal) => this.round(signal),
      backoff: options.backoff,
      onError: (error) => this.setStatus({ lastError: /** @type {Error} */ (error) }),
      onSuccess: () => this.setStatus({ lastError: null, lastSyncAt: Date.now() }),
    });
    const WebSocketImpl = options.WebSocket === undefined ? /** @type {any} */ (globalThis).WebSocket : options.WebSocket;
    this.socket = WebSocketImpl
      ? new RealtimeSocket({
          url: options.url,
          WebSocket: WebSocketImpl,
          tokens: this.tokens,
          clientId: () => this.state.clientId,
          subscription: () => this.subscription(),
          onMessage: (message) => this.onServerMessage(message),
          onConnected: (connected) => this.onConnected(connected),
          backoff: options.backoff,
          heartbeatMs: options.heartbeatMs,
        })
      : null;
    /** @type {SyncStatus} */
    this.currentStatus = Object.freeze({ online: false, connected: false, pending: 0, syncing: false, lastSyncAt: null, lastError: null });
    /** @type {Promise<void> | null} */
    this.opening = null;
    this.loaded = false;
    this.started = false;
    this.resetRequested = false;
    /** @type {Promise<void>} */
    this.commits = Promise.resolve();
    /** @type {Error | null} */
    this.broken = null;
    this.onOnline = () => this.scheduler.now();
  }

  /** @returns {SyncStatus} */
  get status() {
    return this.currentStatus;
  }

  /**
   * @template {keyof ClientEvents} K
   * @param {K} name
   * @param {(payload: ClientEvents[K]) => void} handler
   * @returns {() => void} unsubscribe
   */
  on(name, handler) {
    return this.events.on(name, handler);
  }

  // ---- local reads and writes -----------------------------------------------------------------

  /**
   * Creates or overwrites a record locally and queues it. Only the fields that differ from the
   * local copy are sent; fields the record leaves out keep their values (set null to clear).
   * @param {string} type
   * @param {Record<string, unknown>} record with `id` (a UUID) or without (a UUID v7 is made)
   * @returns {Promise<SyncRecord>} the local record
   */
  async put(type, record) {
    checkType(type);
    if (!record || typeof record !== 'object') throw new TypeError('put needs a record object');
    const id = record.id === undefined || record.id === null ? uuidv7() : record.id;
    if (typeof id !== 'string' || !UUID.test(id)) throw new TypeError('a record id must be a UUID');
    await this.open();
    await this.localWrite(() => this.state.write(type, id, record, 'put'));
    return /** @type {SyncRecord} */ (this.state.view(type, id));
  }

  /**
   * Patches a local record and queues the fields that changed.
   * @param {string} type @param {string} id @param {Record<string, unknown>} patch
   * @returns {Promise<SyncRecord>}
   */
  async update(type, id, patch) {
    checkType(type);
    if (!patch || typeof patch !== 'object') throw new TypeError('update needs a patch object');
    await this.open();
    await this.localWrite(() => this.state.write(type, id, patch, 'update'));
    return /** @type {SyncRecord} */ (this.state.view(type, id));
  }

  /**
   * Deletes a record locally and queues the delete.
   * @param {string} type @param {string} id
   */
  async remove(type, id) {
    checkType(type);
    await this.open();
    await this.localWrite(() => this.state.remove(type, id));
  }

  /** @param {string} type @param {string} id @returns {Promise<SyncRecord | undefined>} */
  async get(type, id) {
    await this.open();
    return this.state.view(type, id);
  }

  /** @param {string} type @returns {Promise<SyncRecord[]>} */
  async list(type) {
    await this.open();
    return [...this.state.list(type)];
  }

  /** Number of local changes not yet acknowledged by the server. */
  async pending() {
    await this.open();
    return this.state.pending;
  }

  /**
   * Synchronous read for UI bindings: what `get` would give, or undefined before the storage
   * is loaded. The record is frozen; it is replaced, never changed, when it changes.
   * @param {string} type @param {string} id
   */
  peek(type, id) {
    return this.state.view(type, id);
  }

  /**
   * Synchronous read for UI bindings: the live records of a type as one frozen array, the same
   * array until a record of the type changes.
   * @param {string} type
   */
  peekAll(type) {
    return this.state.list(type);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Starts syncing in the background (offline included); resolves once the storage is open. */
  async start() {
    if (this.started) return;
    this.started = true;
    await this.open();
    if (!this.started) return;
    this.scheduler.start();
    this.socket?.start();
    /** @type {any} */ (globalThis).addEventListener?.('online', this.onOnline);
  }

  /** One full round: push everything queued, then pull to `hasMore: false`. */
  async sync() {
    await this.open();
    return this.scheduler.request();
  }

  /** Stops every timer and closes the socket; queued changes stay queued. */
  async stop() {
    this.started = false;
    /** @type {any} */ (globalThis).removeEventListener?.('online', this.onOnline);
    this.socket?.stop();
    await this.scheduler.stop();
    await this.commits.catch(() => {});
  }

  /** stop(), then closes the storage (a file storage releases its directory). */
  async close() {
    await this.stop();
    if (this.opening) await this.opening.catch(() => {});
    await this.storage.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  open() {
    if (!this.opening) {
      this.opening = (async () => {
        const snapshot = await this.storage.load();
        this.state.load(snapshot);
        const wanted = this.options.clientId ?? this.state.clientId ?? `js-${uuidv7()}`;
        if (wanted !== this.state.clientId) {
          this.state.clientId = wanted;
          await this.commit([{ store: 'meta', key: 'clientId', value: wanted }]);
        }
        this.loaded = true;
        this.setStatus({ pending: this.state.pending });
      })();
    }
    return this.opening;
  }

  /** @param {() => StorageOp[] | null} write */
  async localWrite(write) {
    if (this.broken) throw this.broken;
    const ops = write();
    if (!ops) return;
    this.setStatus({ pending: this.state.pending });
    await this.commit(ops);
    this.scheduler.poke();
  }

  /**
   * Commits in call order; a failed commit leaves memory ahead of the storage, so the client
   * refuses further writes (a new client reloads what was stored).
   * @param {StorageOp[]} ops
   */
  commit(ops) {
    const next = this.commits.then(() => {
      if (this.broken) throw this.broken;
      return this.storage.commit(ops);
    });
    this.commits = next.catch((cause) => {
      this.broken ??= new SyncError('the storage failed; create a new client', { code: 'storage', cause });
    });
    return next.catch((cause) => {
      throw this.broken ?? new SyncError('the storage failed', { code: 'storage', cause });
    });
  }

  /** @param {AbortSignal} signal */
  async round(signal) {
    await this.open();
    this.setStatus({ syncing: true });
    try {
      await pushAll({
        state: this.state,
        http: this.http,
        commit: (ops) => this.commit(ops),
        batchSize: this.options.pushBatchSize ?? 100,
        newKey: uuidv7,
        signal,
        onRejected: (change, error) => {
          this.events.emit('rejected', { type: change.type, id: change.id, change, error });
        },
        onConflict: (type, id, result) => {
          this.events.emit('conflict', { type, id, result, record: this.state.view(type, id) });
        },
      });
      this.setStatus({ pending: this.state.pending });
      const reset = this.resetRequested;
      this.resetRequested = false;
      try {
        await pullAll({
          state: this.state,
          http: this.http,
          commit: (ops) => this.commit(ops),
          entityTypes: this.options.entityTypes,
          limit: this.options.pullLimit ?? 1000,
          reset,
          signal,
        });
      } catch (error) {
        if (reset) this.resetRequested = true;
        throw error;
      }
      // Writes made during the pull go out with the next round, right away.
      if (this.state.pending > 0) this.scheduler.poke();
    } finally {
      this.setStatus({ syncing: false, pending: this.state.pending });
    }
  }

  subscription() {
    /** @type {Record<string, unknown>} */
    const message = {};
    if (this.options.entityTypes) message.entityTypes = this.options.entityTypes;
    if (this.state.cursor) message.cursor = this.state.cursor;
    return message;
  }

  /** @param {boolean} connected */
  onConnected(connected) {
    this.setStatus({ connected });
    // Authenticated: the server is reachable; catch up on whatever was missed while away.
    if (connected) this.scheduler.now();
  }

  /** @param {ServerMessage} message */
  onServerMessage(message) {
    switch (message.type) {
      case 'sync_notification':
        if (message.data?.event === 'new_data_available') this.scheduler.poke();
        break;
      case 'resync_required':
        if (message.data?.reset === true) this.resetRequested = true;
        this.scheduler.poke();
        break;
      case 'sync_request':
        this.scheduler.poke();
        break;
      default:
        break;
    }
  }

  /** @param {Partial<{ -readonly [K in keyof SyncStatus]: SyncStatus[K] }>} patch */
  setStatus(patch) {
    const current = this.currentStatus;
    /** @type {Record<string, unknown>} */
    const cur = current;
    if (Object.keys(patch).every((k) => cur[k] === /** @type {Record<string, unknown>} */ (patch)[k])) return;
    this.currentStatus = Object.freeze({ ...current, ...patch });
    this.events.emit('status', this.currentStatus);
  }
}

/** @param {string} type */
function checkType(type) {
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) throw new TypeError(`not an entity type name: ${String(type)}`);
}
