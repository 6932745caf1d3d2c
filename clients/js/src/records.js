// Records and changes as plain data: which fields the server manages, what a local write sends,
// and how a queued change shows in the local copy of a record.

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
export const SERVER_FIELDS = new Set([
  'id',
  'version',
  'createdAt',
  'updatedAt',
  'deleted',
  'sync_status',
  'server_synced',
  'last_updated',
  'tenant_id',
  'removed',
  'erased',
]);

/**
 * The client fields of a record, without server-managed ones.
 * @param {Record<string, unknown>} record
 */
export function clientFields(record) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of Object.keys(record)) {
    if (!SERVER_FIELDS.has(key) && record[key] !== undefined) out[key] = record[key];
  }
  return out;
}

/**
 * The fields of `next` whose values differ from `prev` (JSON equality).
 * @param {Record<string, unknown>} prev
 * @param {Record<string, unknown>} next
 */
export function changedFields(prev, next) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of Object.keys(next)) {
    if (!sameJson(prev[key], next[key])) out[key] = next[key];
  }
  return out;
}

/**
 * @param {unknown} a
 * @param {unknown} b
 * @returns {boolean}
 */
export function sameJson(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = /** @type {Record<string, unknown>} */ (a);
  const rb = /** @type {Record<string, unknown>} */ (b);
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && sameJson(ra[k], rb[k]));
}

/**
 * The local copy of a record after a queued change, given the copy before it (`undefined`:
 * absent, `null`: deleted locally). An edit of a record that is gone (deleted on the server
 * meanwhile) shows nothing until the server has answered it.
 * @param {Change} change
 * @param {SyncRecord | null | undefined} prev
 * @returns {SyncRecord | null}
 */
export function applyChange(change, prev) {
  if (change.op === 'delete') return null;
  if (prev) return Object.freeze({ ...prev, ...change.data, id: change.id, sync_status: 'pending' });
  if (change.create) return Object.freeze({ ...change.data, id: change.id, sync_status: 'pending' });
  return null;
}

/**
 * Does this pulled or pushed record say "gone" (a tombstone, or a removal of §11)?
 * @param {Record<string, unknown> | null | undefined} record
 */
export function isGone(record) {
  return !record || record.deleted === true || record.removed === true;
}

/**
 * The storage key of a record. Entity type names cannot contain `/`.
 * @param {string} type
 * @param {string} id
 */
export function recordKey(type, id) {
  return `${type}/${id}`;
}

/** @param {string} key */
export function splitKey(key) {
  const at = key.indexOf('/');
  return { type: key.slice(0, at), id: key.slice(at + 1) };
}

/** @param {number} seq the outbox key: fixed width so that stores sort it as text */
export function outboxKey(seq) {
  return String(seq).padStart(15, '0');
}
