// @syncd/client: the browser-safe entry. Plain ES modules with relative imports and no
// dependencies, so the files can be served to a browser as they are.

export { createClient, Client } from './client.js';
export { memoryStorage } from './storage/memory.js';
export { indexedDbStorage } from './storage/indexeddb.js';
export { SyncError } from './errors.js';
export { uuidv7 } from './ids.js';
export { checksum, recordHash } from './checksum.js';
export { SyncClient } from './wrappers/sync-client.js';
export { RealtimeSync } from './wrappers/realtime-sync.js';

/** @typedef {import('./client.js').ClientOptions} ClientOptions */
/** @typedef {import('./client.js').ClientEvents} ClientEvents */
/** @typedef {import('./client.js').SyncStatus} SyncStatus */
/** @typedef {import('./records.js').SyncRecord} SyncRecord */
/** @typedef {import('./records.js').Change} Change */
/** @typedef {import('./local-state.js').PushResult} PushResult */
/** @typedef {import('./storage/types.js').SyncStorage} SyncStorage */
/** @typedef {import('./storage/types.js').StorageOp} StorageOp */
/** @typedef {import('./storage/types.js').StorageSnapshot} StorageSnapshot */
/** @typedef {import('./realtime.js').WebSocketClass} WebSocketClass */
