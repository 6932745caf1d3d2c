/**
 * @param {string} name the database name (one per app and user, e.g. `syncd-acme-alice`)
 * @param {{ indexedDB?: IDBFactory }} [options] the IndexedDB factory (default the global one)
 * @returns {SyncStorage}
 */
export function indexedDbStorage(name: string, options?: {
    indexedDB?: IDBFactory;
}): SyncStorage;
export type SyncStorage = import("./types.js").SyncStorage;
export type StorageOp = import("./types.js").StorageOp;
