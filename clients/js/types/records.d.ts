/**
 * The client fields of a record, without server-managed ones.
 * @param {Record<string, unknown>} record
 */
export function clientFields(record: Record<string, unknown>): Record<string, unknown>;
/**
 * The fields of `next` whose values differ from `prev` (JSON equality).
 * @param {Record<string, unknown>} prev
 * @param {Record<string, unknown>} next
 */
export function changedFields(prev: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown>;
/**
 * @param {unknown} a
 * @param {unknown} b
 * @returns {boolean}
 */
export function sameJson(a: unknown, b: unknown): boolean;
/**
 * The local copy of a record after a queued change, given the copy before it (`undefined`:
 * absent, `null`: deleted locally). An edit of a record that is gone (deleted on the server
 * meanwhile) shows nothing until the server has answered it.
 * @param {Change} change
 * @param {SyncRecord | null | undefined} prev
 * @returns {SyncRecord | null}
 */
export function applyChange(change: Change, prev: SyncRecord | null | undefined): SyncRecord | null;
/**
 * Does this pulled or pushed record say "gone" (a tombstone, or a removal of §11)?
 * @param {Record<string, unknown> | null | undefined} record
 */
export function isGone(record: Record<string, unknown> | null | undefined): boolean;
/**
 * The storage key of a record. Entity type names cannot contain `/`.
 * @param {string} type
 * @param {string} id
 */
export function recordKey(type: string, id: string): string;
/** @param {string} key */
export function splitKey(key: string): {
    type: string;
    id: string;
};
/** @param {number} seq the outbox key: fixed width so that stores sort it as text */
export function outboxKey(seq: number): string;
/**
 * @typedef {Readonly<Record<string, any>> & { readonly id: string }} SyncRecord
 *
 * A queued local change. `data` holds only what the write changed (a create: every field), so
 * that a merge on the server sees exactly the client's edits.
 * @typedef {object} Change
 * @property {number} seq position in the outbox
 * @property {string} type entity type
 * @property {string} id record id
 * @property {'upsert' | 'delete'} op
 * @property {Record<string, unknown>} [data] fields written (upsert)
 * @property {boolean} [create] the record did not exist locally when it was written
 * @property {number} [base] the server version the client had seen (absent: none)
 * @property {string} at the client's edit time, RFC 3339
 */
/** Fields the server manages: never sent, never taken from the app. */
export const SERVER_FIELDS: Set<string>;
/**
 * A queued local change. `data` holds only what the write changed (a create: every field), so
 * that a merge on the server sees exactly the client's edits.
 */
export type SyncRecord = Readonly<Record<string, any>> & {
    readonly id: string;
};
export type Change = {
    /**
     * position in the outbox
     */
    seq: number;
    /**
     * entity type
     */
    type: string;
    /**
     * record id
     */
    id: string;
    op: "upsert" | "delete";
    /**
     * fields written (upsert)
     */
    data?: Record<string, unknown> | undefined;
    /**
     * the record did not exist locally when it was written
     */
    create?: boolean | undefined;
    /**
     * the server version the client had seen (absent: none)
     */
    base?: number | undefined;
    /**
     * the client's edit time, RFC 3339
     */
    at: string;
};
