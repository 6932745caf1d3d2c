// @syncd/react: hooks that keep a component in step with a @syncd/client client. Each hook
// reads the client's in-memory copy synchronously (useSyncExternalStore) and re-renders on the
// client's events, for local writes and for changes pulled from the server alike.

import { useCallback, useEffect, useSyncExternalStore } from 'react';

/** @typedef {import('@syncd/client').Client} Client */
/** @typedef {import('@syncd/client').SyncRecord} SyncRecord */
/** @typedef {import('@syncd/client').SyncStatus} SyncStatus */

/**
 * The client's status (`online`, `connected`, `pending`, `syncing`, `lastSyncAt`, `lastError`).
 * @param {Client} client
 * @returns {SyncStatus}
 */
export function useSyncStatus(client) {
  const subscribe = useCallback((/** @type {() => void} */ onChange) => client.on('status', onChange), [client]);
  const read = () => client.status;
  return useSyncExternalStore(subscribe, read, read);
}

/**
 * The live local records of a type; a new array whenever one of them changes.
 * @param {Client} client
 * @param {string} type
 * @returns {readonly SyncRecord[]}
 */
export function useRecords(client, type) {
  const subscribe = useTypeSubscription(client, type);
  const read = () => client.peekAll(type);
  useOpen(client, type);
  return useSyncExternalStore(subscribe, read, read);
}

/**
 * One local record, or undefined while it is absent or deleted.
 * @param {Client} client
 * @param {string} type
 * @param {string | null | undefined} id
 * @returns {SyncRecord | undefined}
 */
export function useRecord(client, type, id) {
  const subscribe = useTypeSubscription(client, type);
  const read = () => (id ? client.peek(type, id) : undefined);
  useOpen(client, type);
  return useSyncExternalStore(subscribe, read, read);
}

/**
 * Calls back on changes of the type, and on status events (the storage finished loading).
 * @param {Client} client @param {string} type
 */
function useTypeSubscription(client, type) {
  return useCallback(
    (/** @type {() => void} */ onChange) => {
      const offChange = client.on('change', (event) => {
        if (event.type === type) onChange();
      });
      const offStatus = client.on('status', onChange);
      return () => {
        offChange();
        offStatus();
      };
    },
    [client, type],
  );
}

/**
 * Opens the client's storage if nothing has yet, so that stored records show without start().
 * @param {Client} client @param {string} type
 */
function useOpen(client, type) {
  useEffect(() => {
    client.list(type).catch(() => {});
  }, [client, type]);
}
