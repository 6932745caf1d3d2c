// @syncd/client: the browser-safe entry. Plain ES modules with relative imports and no
// dependencies, so the files can be served to a browser as they are.

export { createClient, Client } from './client.js';
export { memoryStorage } from './storage/memory.js';
export { indexedDbStorage } from './storage/indexeddb.js';
export { SyncError } from './errors.js';
export { uuidv7 } from './ids.js';
export { SyncClient } from './wrappers/sync-client.js';
export { RealtimeSync } from './wrappers/realtime-sync.js';
