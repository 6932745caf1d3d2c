// The working copy of a client, in memory: the server's copies of records, the ordered outbox of
// local changes, and for records with queued changes their local view (server copy + changes on
// top, recomputed whenever either side moves). Every method that changes something returns the
// storage operations that make the same change durable, as one commit.

import { SyncError } from './errors.js';
import { applyChange, changedFields, clientFields, isGone, outboxKey, recordKey, splitKey } from './records.js';

/** @typedef {import('./records.js').Change} Change */
/** @typedef {import('./records.js').SyncRecord} SyncRecord */
/** @typedef {import('./storage/types.js').StorageOp} StorageOp */
/** @typedef {import('./storage/types.js').StorageSnapshot} StorageSnapshot */

/**
 * A push request fixed when it is formed: the same body and Idempotency-Key on every retry.
 * @typedef {object} Batch
 * @property {string} key the Idempotency-Key
 * @property {number[]} seqs the outbox entries it carries, in body order
 * @property {{ clientId?: string, changes: Record<string, unknown>[] }} body
 */

/**
 * @typedef {object} PushResult
 * @property {number} index
 * @property {string} [entityType]
 * @property {string} [id]
 * @property {string} status created | updated | deleted | unchanged | conflict_resolved | conflict
 * @property {number} [version]
 * @property {string} [strategy]
 * @property {string[]} [conflictingFields]
 */

/** @typedef {'local' | 'remote'} Origin */
/** @typedef {(type: string, id: string, record: SyncRecord | undefined, origin: Origin) => void} OnChange */

export class LocalState {
  /** @param {OnChange} onChange called after each record's local view may have changed */
  constructor(onChange) {
    this.onChange = onChange;
    /** @type {Map<string, Map<string, SyncRecord>>} server copies of live records, by type */
    this.server = new Map();
    /** @type {Map<string, Map<string, SyncRecord | null>>} views of records with queued changes */
    this.overlay = new Map();
    /** @type {Change[]} */
    this.outbox = [];
    /** @type {Map<string, Change[]>} queued changes per record key, in outbox order */
    this.byKey = new Map();
    /** @type {string | null} */
    this.cursor = null;
    /** @type {Batch | null} */
    this.inflight = null;
    /** @type {Set<number>} */
    this.inflightSeqs = new Set();
    this.nextSeq = 1;
    /** @type {string | undefined} */
    this.clientId = undefined;
    /** @type {Map<string, number>} */
    this.revisions = new Map();
    /** @type {Map<string, { rev: number, list: SyncRecord[] }>} */
    this.listCache = new Map();
  }

  /** @param {StorageSnapshot} snapshot */
  load(snapshot) {
    for (const [key, record] of snapshot.records) {
      const { type, id } = splitKey(key);
      this.serverMap(type).set(id, Object.freeze(record));
    }
    for (const [, change] of snapshot.outbox) this.pushChange(change);
    const meta = new Map(snapshot.meta);
    this.cursor = meta.get('cursor') ?? null;
    this.clientId = meta.get('clientId');
    const maxSeq = this.outbox.reduce((m, c) => Math.max(m, c.seq), 0);
    this.nextSeq = Math.max(meta.get('nextSeq') ?? 1, maxSeq + 1);
    const inflight = meta.get('inflight');
    if (inflight) this.setInflight(inflight);
    for (const key of this.byKey.keys()) {
      const { type, id } = splitKey(key);
      this.recompute(type, id);
    }
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** @param {string} type @param {string} id @returns {SyncRecord | undefined} */
  view(type, id) {
    const overlay = this.overlay.get(type);
    if (overlay?.has(id)) return overlay.get(id) ?? undefined;
    return this.server.get(type)?.get(id);
  }

  /**
   * The live local records of a type; the same array until something of the type changes.
   * @param {string} type
   */
  list(type) {
    const rev = this.revisions.get(type) ?? 0;
    const cached = this.listCache.get(type);
    if (cached && cached.rev === rev) return cached.list;
    /** @type {SyncRecord[]} */
    const list = [];
    const server = this.server.get(type);
    const overlay = this.overlay.get(type);
    if (server) {
      for (const [id, record] of server) {
        if (!overlay?.has(id)) list.push(record);
        else {
          const local = overlay.get(id);
          if (local) list.push(local);
        }
      }
    }
    if (overlay) {
      for (const [id, local] of overlay) if (local && !server?.has(id)) list.push(local);
    }
    Object.freeze(list);
    this.listCache.set(type, { rev, list });
    return list;
  }

  get pending() {
    return this.outbox.length;
  }

  /** @param {string} type */
  revision(type) {
    return this.revisions.get(type) ?? 0;
  }

  // ---- local writes ---------------------------------------------------------------------------

  /**
   * Queues an upsert. `put` creates or overwrites the fields it carries; `update` patches an
   * existing record. Only fields whose values differ from the local copy are queued.
   * @param {string} type
   * @param {string} id
   * @param {Record<string, unknown>} fields
   * @param {'put' | 'update'} mode
   * @returns {StorageOp[] | null} null when nothing changed
   */
  write(type, id, fields, mode) {
    const prev = this.view(type, id);
    if (mode === 'update' && !prev) {
      throw new SyncError(`no local ${type} record ${id} to update`, { code: 'not_found', status: 404 });
    }
    const incoming = clientFields(fields);
    const data = prev ? changedFields(prev, incoming) : incoming;
    if (prev && Object.keys(data).length === 0) return null;
    const base = this.server.get(type)?.get(id)?.version;
    return this.enqueue({ seq: 0, type, id, op: 'upsert', data, create: !prev, base, at: new Date().toISOString() });
  }

  /**
   * Queues a delete (also of a record not pulled yet: the server may have it).
   * @param {string} type @param {string} id
   * @returns {StorageOp[] | null} null when the record is already deleted locally
   */
  remove(type, id) {
    if (this.overlay.get(type)?.get(id) === null) return null;
    const base = this.server.get(type)?.get(id)?.version;
    return this.enqueue({ seq: 0, type, id, op: 'delete', base, at: new Date().toISOString() });
  }

  /**
   * Appends a change, or folds it into the last queued change when that one is of the same
   * record and not part of the batch in flight (so order across records never changes).
   * @param {Change} change
   */
  enqueue(change) {
    /** @type {StorageOp[]} */
    const ops = [];
    const tail = this.outbox[this.outbox.length - 1];
    if (tail && tail.type === change.type && tail.id === change.id && !this.inflightSeqs.has(tail.seq)) {
      const merged = this.coalesce(tail, change);
      this.dropChanges(new Set([tail.seq]), ops);
      if (merged) this.appendChange(merged, ops);
    } else {
      this.appendChange({ ...change, seq: this.nextSeq++ }, ops);
      ops.push({ store: 'meta', key: 'nextSeq', value: this.nextSeq });
    }
    this.recompute(change.type, change.id);
    this.notify(change.type, change.id, 'local');
    return ops;
  }

  /**
   * @param {Change} tail
   * @param {Change} next
   * @returns {Change | null} null: both cancel out (a create the server never saw, then deleted)
   */
  coalesce(tail, next) {
    const key = recordKey(tail.type, tail.id);
    if (next.op === 'delete') {
      const neverSent = tail.create && tail.base === undefined && !this.server.get(tail.type)?.has(tail.id);
      if (neverSent && (this.byKey.get(key)?.length ?? 0) === 1) return null;
      return { seq: tail.seq, type: tail.type, id: tail.id, op: 'delete', base: tail.base, at: next.at };
    }
    if (tail.op === 'delete') return { ...next, seq: tail.seq, base: tail.base };
    return { ...tail, data: { ...tail.data, ...next.data }, at: next.at };
  }

  // ---- the outbox and the server's answers ----------------------------------------------------

  /**
   * The batch in flight, or a new one of the first `limit` queued changes.
   * @param {number} limit
   * @param {() => string} newKey
   * @returns {{ batch: Batch, ops: StorageOp[] } | null}
   */
  formBatch(limit, newKey) {
    if (this.inflight) return { batch: this.inflight, ops: [] };
    const changes = this.outbox.slice(0, Math.max(1, limit));
    if (changes.length === 0) return null;
    /** @type {Batch} */
    const batch = {
      key: newKey(),
      seqs: changes.map((c) => c.seq),
      body: { ...(this.clientId ? { clientId: this.clientId } : {}), changes: changes.map(toWire) },
    };
    this.setInflight(batch);
    return { batch, ops: [{ store: 'meta', key: 'inflight', value: batch }] };
  }

  /**
   * Forgets the batch in flight without touching its changes (they go out again in a new batch
   * with a new key).
   * @returns {StorageOp[]}
   */
  dropInflight() {
    this.setInflight(null);
    return [{ store: 'meta', key: 'inflight' }];
  }

  /**
   * Folds a 200 answer to the batch in flight into the local state: the server's copies replace
   * the local ones, the batch leaves the outbox, later queued edits of the same records are
   * rebased on the versions the server gave.
   * @param {Batch} batch
   * @param {{ data?: unknown[], results?: PushResult[] }} answer
   * @returns {{ ops: StorageOp[], conflicts: { type: string, id: string, result: PushResult }[] }}
   */
  ackBatch(batch, answer) {
    /** @type {StorageOp[]} */
    const ops = [];
    const bySeq = new Map(this.outbox.filter((c) => this.inflightSeqs.has(c.seq)).map((c) => [c.seq, c]));
    const touched = new Map();
    for (const change of bySeq.values()) touched.set(recordKey(change.type, change.id), change);
    this.dropChanges(new Set(batch.seqs), ops);
    /** @type {{ type: string, id: string, result: PushResult }[]} */
    const conflicts = [];
    const data = Array.isArray(answer.data) ? answer.data : [];
    for (const result of Array.isArray(answer.results) ? answer.results : []) {
      const change = bySeq.get(batch.seqs[result.index]);
      if (!change) continue;
      const record = /** @type {Record<string, unknown> | null} */ (data[result.index]);
      if (record && typeof record === 'object') this.setServer(change.type, change.id, record, ops);
      if (result.status !== 'conflict' && typeof result.version === 'number') {
        this.rebase(change.type, change.id, result.version, ops);
      }
      if (result.status === 'conflict' || result.status === 'conflict_resolved') {
        conflicts.push({ type: change.type, id: change.id, result });
      }
    }
    ops.push(...this.dropInflight());
    for (const change of touched.values()) {
      this.recompute(change.type, change.id);
      this.notify(change.type, change.id, 'remote');
    }
    return { ops, conflicts };
  }

  /**
   * Rejects changes of the batch in flight for good (by position in its body); the batch is
   * dropped so that the rest goes out again under a new key. Their records fall back to the
   * server's copy, or disappear when the server has none.
   * @param {Batch} batch
   * @param {number[]} indexes
   * @returns {{ ops: StorageOp[], rejected: Change[] }}
   */
  reject(batch, indexes) {
    /** @type {StorageOp[]} */
    const ops = [];
    const seqs = new Set(indexes.map((i) => batch.seqs[i]).filter((s) => s !== undefined));
    const rejected = this.outbox.filter((c) => seqs.has(c.seq));
    this.dropChanges(seqs, ops);
    ops.push(...this.dropInflight());
    for (const change of rejected) {
      this.recompute(change.type, change.id);
      this.notify(change.type, change.id, 'remote');
    }
    return { ops, rejected };
  }

  /**
   * Applies one pull page: upserts, tombstones and removals, then the new cursor.
   * @param {Record<string, unknown[]>} data records by type
   * @param {string | null} cursor
   * @returns {StorageOp[]}
   */
  applyPage(data, cursor) {
    /** @type {StorageOp[]} */
    const ops = [];
    for (const type of Object.keys(data ?? {})) {
      const records = data[type];
      if (!Array.isArray(records)) continue;
      for (const record of records) {
        const r = /** @type {Record<string, unknown>} */ (record);
        if (!r || typeof r.id !== 'string') continue;
        this.setServer(type, r.id, r, ops);
        if (this.byKey.has(recordKey(type, r.id))) this.recompute(type, r.id);
        this.notify(type, r.id, 'remote');
      }
    }
    this.cursor = cursor;
    ops.push({ store: 'meta', key: 'cursor', value: cursor });
    return ops;
  }

  /**
   * Replaces every server copy by the records of a pull from the start (after a 410): records
   * the new pull does not name are dropped, queued changes are re-applied on top.
   * @param {Record<string, unknown[]>[]} pages
   * @param {string | null} cursor
   * @returns {StorageOp[]}
   */
  reset(pages, cursor) {
    const old = this.server;
    this.server = new Map();
    /** @type {StorageOp[]} */
    const ops = [{ store: 'records', clear: true }];
    for (const data of pages) {
      for (const type of Object.keys(data ?? {})) {
        for (const record of data[type] ?? []) {
          const r = /** @type {Record<string, unknown>} */ (record);
          if (!r || typeof r.id !== 'string') continue;
          if (isGone(r)) this.serverMap(type).delete(r.id);
          else this.serverMap(type).set(r.id, /** @type {SyncRecord} */ (Object.freeze(r)));
        }
      }
    }
    /** @type {Set<string>} */
    const keys = new Set(this.byKey.keys());
    for (const [type, records] of this.server) {
      for (const [id, record] of records) {
        const key = recordKey(type, id);
        ops.push({ store: 'records', key, value: record });
        keys.add(key);
      }
    }
    for (const [type, records] of old) for (const id of records.keys()) keys.add(recordKey(type, id));
    for (const key of keys) {
      const { type, id } = splitKey(key);
      this.recompute(type, id);
      this.notify(type, id, 'remote');
    }
    this.cursor = cursor;
    ops.push({ store: 'meta', key: 'cursor', value: cursor });
    return ops;
  }

  // ---- internals ------------------------------------------------------------------------------

  /** @param {string} type */
  serverMap(type) {
    let map = this.server.get(type);
    if (!map) this.server.set(type, (map = new Map()));
    return map;
  }

  /**
   * @param {string} type @param {string} id
   * @param {Record<string, unknown>} record
   * @param {StorageOp[]} ops
   */
  setServer(type, id, record, ops) {
    const key = recordKey(type, id);
    if (isGone(record)) {
      if (this.server.get(type)?.delete(id)) ops.push({ store: 'records', key });
      this.bump(type);
    } else {
      const frozen = Object.freeze(record);
      this.serverMap(type).set(id, /** @type {SyncRecord} */ (frozen));
      ops.push({ store: 'records', key, value: frozen });
      this.bump(type);
    }
  }

  /**
   * Later queued edits of a record were made on top of the edit the server just answered, so
   * they are based on the version it produced.
   * @param {string} type @param {string} id @param {number} version
   * @param {StorageOp[]} ops
   */
  rebase(type, id, version, ops) {
    const key = recordKey(type, id);
    const list = this.byKey.get(key);
    if (!list) return;
    list.forEach((change, i) => {
      if (this.inflightSeqs.has(change.seq)) return;
      if (change.base !== undefined && change.base >= version) return;
      const rebased = { ...change, base: version };
      list[i] = rebased;
      const at = this.outbox.findIndex((c) => c.seq === change.seq);
      if (at >= 0) this.outbox[at] = rebased;
      ops.push({ store: 'outbox', key: outboxKey(change.seq), value: rebased });
    });
  }

  /** @param {Change} change @param {StorageOp[]} ops */
  appendChange(change, ops) {
    this.pushChange(change);
    ops.push({ store: 'outbox', key: outboxKey(change.seq), value: change });
  }

  /** @param {Change} change */
  pushChange(change) {
    this.outbox.push(change);
    const key = recordKey(change.type, change.id);
    const list = this.byKey.get(key);
    if (list) list.push(change);
    else this.byKey.set(key, [change]);
  }

  /** @param {Set<number>} seqs @param {StorageOp[]} ops */
  dropChanges(seqs, ops) {
    if (seqs.size === 0) return;
    const kept = [];
    for (const change of this.outbox) {
      if (!seqs.has(change.seq)) {
        kept.push(change);
        continue;
      }
      ops.push({ store: 'outbox', key: outboxKey(change.seq) });
      const key = recordKey(change.type, change.id);
      const list = this.byKey.get(key)?.filter((c) => c.seq !== change.seq) ?? [];
      if (list.length > 0) this.byKey.set(key, list);
      else this.byKey.delete(key);
    }
    this.outbox = kept;
  }

  /** @param {Batch | null} batch */
  setInflight(batch) {
    this.inflight = batch;
    this.inflightSeqs = new Set(batch?.seqs ?? []);
  }

  /** The local view of one record: its server copy with its queued changes on top. */
  /** @param {string} type @param {string} id */
  recompute(type, id) {
    const changes = this.byKey.get(recordKey(type, id));
    let overlay = this.overlay.get(type);
    if (!changes) {
      overlay?.delete(id);
    } else {
      /** @type {SyncRecord | null | undefined} */
      let view = this.server.get(type)?.get(id);
      for (const change of changes) view = applyChange(change, view);
      if (!overlay) this.overlay.set(type, (overlay = new Map()));
      overlay.set(id, view ?? null);
    }
    this.bump(type);
  }

  /** @param {string} type */
  bump(type) {
    this.revisions.set(type, (this.revisions.get(type) ?? 0) + 1);
  }

  /** @param {string} type @param {string} id @param {Origin} origin */
  notify(type, id, origin) {
    this.onChange(type, id, this.view(type, id), origin);
  }
}

/**
 * A queued change as the list form of the push body carries it.
 * @param {Change} c
 */
function toWire(c) {
  /** @type {Record<string, unknown>} */
  const wire = { entityType: c.type, op: c.op, id: c.id };
  if (c.base !== undefined) wire.baseVersion = c.base;
  if (c.op === 'upsert') wire.data = c.data ?? {};
  wire.clientUpdatedAt = c.at;
  return wire;
}
