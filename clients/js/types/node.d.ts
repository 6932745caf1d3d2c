/**
 * @param {string} dir a directory of its own (created if missing)
 * @returns {SyncStorage}
 */
export function fileStorage(dir: string): SyncStorage;
export type SyncStorage = import("./storage/types.js").SyncStorage;
export type StorageOp = import("./storage/types.js").StorageOp;
