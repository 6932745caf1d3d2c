/** @typedef {'records' | 'outbox' | 'meta'} StoreName */
/**
 * A put (`value` present), a delete (`value` undefined), or the emptying of a whole store.
 * @typedef {{ store: StoreName, key: string, value?: unknown, clear?: undefined } | { store: StoreName, clear: true, key?: undefined, value?: undefined }} StorageOp
 */
/**
 * Everything stored, as [key, value] entries; outbox entries sorted by key.
 * @typedef {object} StorageSnapshot
 * @property {[string, any][]} records server copies of records, key `type/id`
 * @property {[string, any][]} outbox queued changes, key = zero-padded sequence number
 * @property {[string, any][]} meta cursor, in-flight batch, client id, next sequence number
 */
/**
 * @typedef {object} SyncStorage
 * @property {() => Promise<StorageSnapshot>} load reads everything (opens the storage)
 * @property {(ops: StorageOp[]) => Promise<void>} commit applies the operations atomically
 * @property {() => Promise<void>} close releases the storage
 */
export const STORE_NAMES: readonly ["records", "outbox", "meta"];
export type StoreName = "records" | "outbox" | "meta";
/**
 * A put (`value` present), a delete (`value` undefined), or the emptying of a whole store.
 */
export type StorageOp = {
    store: StoreName;
    key: string;
    value?: unknown;
    clear?: undefined;
} | {
    store: StoreName;
    clear: true;
    key?: undefined;
    value?: undefined;
};
/**
 * Everything stored, as [key, value] entries; outbox entries sorted by key.
 */
export type StorageSnapshot = {
    /**
     * server copies of records, key `type/id`
     */
    records: [string, any][];
    /**
     * queued changes, key = zero-padded sequence number
     */
    outbox: [string, any][];
    /**
     * cursor, in-flight batch, client id, next sequence number
     */
    meta: [string, any][];
};
export type SyncStorage = {
    /**
     * reads everything (opens the storage)
     */
    load: () => Promise<StorageSnapshot>;
    /**
     * applies the operations atomically
     */
    commit: (ops: StorageOp[]) => Promise<void>;
    /**
     * releases the storage
     */
    close: () => Promise<void>;
};
