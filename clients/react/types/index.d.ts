/** @typedef {import('@syncd/client').Client} Client */
/** @typedef {import('@syncd/client').SyncRecord} SyncRecord */
/** @typedef {import('@syncd/client').SyncStatus} SyncStatus */
/**
 * The client's status (`online`, `connected`, `pending`, `syncing`, `lastSyncAt`, `lastError`).
 * @param {Client} client
 * @returns {SyncStatus}
 */
export function useSyncStatus(client: Client): SyncStatus;
/**
 * The live local records of a type; a new array whenever one of them changes.
 * @param {Client} client
 * @param {string} type
 * @returns {readonly SyncRecord[]}
 */
export function useRecords(client: Client, type: string): readonly SyncRecord[];
/**
 * One local record, or undefined while it is absent or deleted.
 * @param {Client} client
 * @param {string} type
 * @param {string | null | undefined} id
 * @returns {SyncRecord | undefined}
 */
export function useRecord(client: Client, type: string, id: string | null | undefined): SyncRecord | undefined;
export type Client = import("@syncd/client").Client;
export type SyncRecord = import("@syncd/client").SyncRecord;
export type SyncStatus = import("@syncd/client").SyncStatus;
