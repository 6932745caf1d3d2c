// The contract every storage adapter fulfils. The SDK keeps its working copy in memory and hands
// each state transition to the adapter as one list of operations that must be applied all or
// nothing, in order: a local write puts the record's outbox entry in the same commit as any
// other change, so no state exists where a record changed but its change is not queued.

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

export const STORE_NAMES = /** @type {const} */ (['records', 'outbox', 'meta']);
