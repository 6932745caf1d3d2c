// The seed apps' "Real-Time Data Sync" service: a WebSocket that hands each changed record to
// the callbacks subscribed to its type, reconnecting with backoff and sending heartbeats. It is
// a notification channel only: after a reconnect, records changed meanwhile are not replayed
// (createClient pulls them by cursor).

import { Emitter } from '../events.js';
import { RealtimeSocket } from '../realtime.js';
import { TokenSource } from '../tokens.js';

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
  constructor(options) {
    const WebSocketImpl = options.WebSocket ?? /** @type {any} */ (globalThis).WebSocket;
    if (!WebSocketImpl) throw new TypeError('RealtimeSync needs a WebSocket class');
    /** @type {Map<string, Set<(update: DataUpdate) => void>>} */
    this.callbacks = new Map();
    /** @type {Emitter<RealtimeEvents>} */
    this.events = new Emitter(/** @type {const} */ (['status', 'message']));
    /** @type {RealtimeStatus} */
    this.status = 'disconnected';
    this.socket = new RealtimeSocket({
      url: options.url,
      WebSocket: WebSocketImpl,
      tokens: new TokenSource(options),
      clientId: () => options.clientId,
      subscription: () => {
        const types = [...this.callbacks.keys()];
        return types.length > 0 ? { entityTypes: types, includeData: true } : {};
      },
      onMessage: (message) => this.receive(message),
      onConnected: (connected) => this.setStatus(connected ? 'connected' : this.socket.running ? 'connecting' : 'disconnected'),
      backoff: options.backoff,
      heartbeatMs: options.heartbeatMs,
    });
  }

  connect() {
    if (this.socket.running) return;
    this.setStatus('connecting');
    this.socket.start();
  }

  disconnect() {
    this.socket.stop();
    this.setStatus('disconnected');
  }

  /**
   * Calls `callback` with `{ type, action, data }` for every change of a record of `type`.
   * @param {string} type
   * @param {(update: DataUpdate) => void} callback
   * @returns {() => void} unsubscribe
   */
  subscribe(type, callback) {
    let set = this.callbacks.get(type);
    const added = !set;
    if (!set) this.callbacks.set(type, (set = new Set()));
    set.add(callback);
    if (added) this.socket.resubscribe();
    return () => {
      const current = this.callbacks.get(type);
      if (!current?.delete(callback) || current.size > 0) return;
      this.callbacks.delete(type);
      this.socket.resubscribe();
    };
  }

  /**
   * @template {keyof RealtimeEvents} K
   * @param {K} name @param {(payload: RealtimeEvents[K]) => void} handler
   */
  on(name, handler) {
    return this.events.on(name, handler);
  }

  /** @param {ServerMessage} message */
  receive(message) {
    if (message.type === 'data_update' && message.data) {
      const { type, action, data } = message.data;
      for (const callback of [...(this.callbacks.get(type) ?? [])]) {
        try {
          callback({ type, action, data });
        } catch (error) {
          console.error('@syncd/client: a RealtimeSync callback threw', error);
        }
      }
    }
    this.events.emit('message', message);
  }

  /** @param {RealtimeStatus} status */
  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.events.emit('status', status);
  }
}
