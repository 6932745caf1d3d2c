// Storage that lives as long as the object: for tests, benchmarks, and apps that need no
// persistence. Two clients given the same memoryStorage() one after the other see the same
// state, like two runs of an app on the same disk.

import { STORE_NAMES } from './types.js';

/** @typedef {import('./types.js').SyncStorage} SyncStorage */
/** @typedef {import('./types.js').StorageOp} StorageOp */

/** @returns {SyncStorage} */
export function memoryStorage() {
  /** @type {Record<string, Map<string, unknown>>} */
  const stores = Object.fromEntries(STORE_NAMES.map((n) => [n, new Map()]));
  return {
    async load() {
      const outbox = [...stores.outbox.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      return { records: [...stores.records.entries()], outbox, meta: [...stores.meta.entries()] };
    },
    async commit(ops) {
      applyOps(stores, ops);
    },
    async close() {},
  };
}

/**
 * Applies operations to maps of the three stores (also used by fileStorage for its image).
 * @param {Record<string, Map<string, unknown>>} stores
 * @param {StorageOp[]} ops
 */
export function applyOps(stores, ops) {
  for (const op of ops) {
    const store = stores[op.store];
    if (op.clear) store.clear();
    else if (op.value === undefined) store.delete(op.key);
    else store.set(op.key, op.value);
  }
}
