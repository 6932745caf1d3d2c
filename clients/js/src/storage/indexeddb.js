// Browser storage: one IndexedDB database with an object store per part of the state. A commit
// is one readwrite transaction over the three stores, resolved when the browser reports it
// complete (durability "strict" where supported), so the outbox entry and the record it
// describes are written together or not at all.

import { STORE_NAMES } from './types.js';

/** @typedef {import('./types.js').SyncStorage} SyncStorage */
/** @typedef {import('./types.js').StorageOp} StorageOp */

const VERSION = 1;

/**
 * @param {string} name the database name (one per app and user, e.g. `syncd-acme-alice`)
 * @param {{ indexedDB?: IDBFactory }} [options] the IndexedDB factory (default the global one)
 * @returns {SyncStorage}
 */
export function indexedDbStorage(name, options = {}) {
  /** @type {Promise<IDBDatabase> | null} */
  let opening = null;
  const db = () => {
    if (!opening) {
      const factory = options.indexedDB ?? globalThis.indexedDB;
      if (!factory) throw new TypeError('indexedDbStorage needs IndexedDB (a browser)');
      opening = openDatabase(factory, name);
    }
    return opening;
  };
  return {
    async load() {
      const database = await db();
      const tx = database.transaction([...STORE_NAMES], 'readonly');
      const [records, outbox, meta] = await Promise.all(STORE_NAMES.map((store) => readAll(tx.objectStore(store))));
      return { records, outbox, meta };
    },
    async commit(ops) {
      const database = await db();
      /** @type {any} */
      const txOptions = { durability: 'strict' };
      const tx = database.transaction([...STORE_NAMES], 'readwrite', txOptions);
      for (const op of ops) {
        const store = tx.objectStore(op.store);
        if (op.clear) store.clear();
        else if (op.value === undefined) store.delete(op.key);
        else store.put(op.value, op.key);
      }
      await done(tx);
    },
    async close() {
      if (opening) (await opening).close();
      opening = null;
    },
  };
}

/** @param {IDBFactory} factory @param {string} name @returns {Promise<IDBDatabase>} */
function openDatabase(factory, name) {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, VERSION);
    request.onupgradeneeded = () => {
      const database = request.result;
      for (const store of STORE_NAMES) {
        if (!database.objectStoreNames.contains(store)) database.createObjectStore(store);
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error(`IndexedDB ${name} is blocked by another tab`));
  });
}

/** @param {IDBObjectStore} store @returns {Promise<[string, any][]>} */
function readAll(store) {
  return new Promise((resolve, reject) => {
    const keys = store.getAllKeys();
    const values = store.getAll();
    values.onsuccess = () => {
      const k = /** @type {IDBValidKey[]} */ (keys.result);
      resolve(values.result.map((value, i) => [String(k[i]), value]));
    };
    values.onerror = () => reject(values.error);
    keys.onerror = () => reject(keys.error);
  });
}

/** @param {IDBTransaction} tx @returns {Promise<void>} */
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
  });
}
