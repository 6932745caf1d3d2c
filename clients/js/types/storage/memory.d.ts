/** @typedef {import('./types.js').SyncStorage} SyncStorage */
/** @typedef {import('./types.js').StorageOp} StorageOp */
/** @returns {SyncStorage} */
export function memoryStorage(): SyncStorage;
/**
 * Applies operations to maps of the three stores (also used by fileStorage for its image).
 * @param {Record<string, Map<string, unknown>>} stores
 * @param {StorageOp[]} ops
 */
export function applyOps(stores: Record<string, Map<string, unknown>>, ops: StorageOp[]): void;
export type SyncStorage = import("./types.js").SyncStorage;
export type StorageOp = import("./types.js").StorageOp;
