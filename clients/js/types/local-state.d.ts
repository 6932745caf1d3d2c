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
    constructor(onChange: OnChange);
    onChange: OnChange;
    /** @type {Map<string, Map<string, SyncRecord>>} server copies of live records, by type */
    server: Map<string, Map<string, SyncRecord>>;
    /** @type {Map<string, Map<string, SyncRecord | null>>} views of records with queued changes */
    overlay: Map<string, Map<string, SyncRecord | null>>;
    /** @type {Change[]} */
    outbox: Change[];
    /** @type {Map<string, Change[]>} queued changes per record key, in outbox order */
    byKey: Map<string, Change[]>;
    /** @type {string | null} */
    cursor: string | null;
    /** @type {Batch | null} */
    inflight: Batch | null;
    /** @type {Set<number>} */
    inflightSeqs: Set<number>;
    nextSeq: number;
    /** @type {string | undefined} */
    clientId: string | undefined;
    /** @type {Map<string, number>} */
    revisions: Map<string, number>;
    /** @type {Map<string, { rev: number, list: SyncRecord[] }>} */
    listCache: Map<string, {
        rev: number;
        list: SyncRecord[];
    }>;
    /** @param {StorageSnapshot} snapshot */
    load(snapshot: StorageSnapshot): void;
    /** @param {string} type @param {string} id @returns {SyncRecord | undefined} */
    view(type: string, id: string): SyncRecord | undefined;
    /**
     * The live local records of a type; the same array until something of the type changes.
     * @param {string} type
     */
    list(type: string): import("./records.js").SyncRecord[];
    get pending(): number;
    /** @param {string} type */
    revision(type: string): number;
    /**
     * Queues an upsert. `put` creates or overwrites the fields it carries; `update` patches an
     * existing record. Only fields whose values differ from the local copy are queued.
     * @param {string} type
     * @param {string} id
     * @param {Record<string, unknown>} fields
     * @param {'put' | 'update'} mode
     * @returns {StorageOp[] | null} null when nothing changed
     */
    write(type: string, id: string, fields: Record<string, unknown>, mode: "put" | "update"): StorageOp[] | null;
    /**
     * Queues a delete (also of a record not pulled yet: the server may have it).
     * @param {string} type @param {string} id
     * @returns {StorageOp[] | null} null when the record is already deleted locally
     */
    remove(type: string, id: string): StorageOp[] | null;
    /**
     * Appends a change, or folds it into the last queued change when that one is of the same
     * record and not part of the batch in flight (so order across records never changes).
     * @param {Change} change
     */
    enqueue(change: Change): import("./storage/types.js").StorageOp[];
    /**
     * @param {Change} tail
     * @param {Change} next
     * @returns {Change | null} null: both cancel out (a create the server never saw, then deleted)
     */
    coalesce(tail: Change, next: Change): Change | null;
    /**
     * The batch in flight, or a new one of the first `limit` queued changes.
     * @param {number} limit
     * @param {() => string} newKey
     * @returns {{ batch: Batch, ops: StorageOp[] } | null}
     */
    formBatch(limit: number, newKey: () => string): {
        batch: Batch;
        ops: StorageOp[];
    } | null;
    /**
     * Forgets the batch in flight without touching its changes (they go out again in a new batch
     * with a new key).
     * @returns {StorageOp[]}
     */
    dropInflight(): StorageOp[];
    /**
     * Folds a 200 answer to the batch in flight into the local state: the server's copies replace
     * the local ones, the batch leaves the outbox, later queued edits of the same records are
     * rebased on the versions the server gave.
     * @param {Batch} batch
     * @param {{ data?: unknown[], results?: PushResult[] }} answer
     * @returns {{ ops: StorageOp[], conflicts: { type: string, id: string, result: PushResult }[] }}
     */
    ackBatch(batch: Batch, answer: {
        data?: unknown[];
        results?: PushResult[];
    }): {
        ops: StorageOp[];
        conflicts: {
            type: string;
            id: string;
            result: PushResult;
        }[];
    };
    /**
     * Rejects changes of the batch in flight for good (by position in its body); the batch is
     * dropped so that the rest goes out again under a new key. Their records fall back to the
     * server's copy, or disappear when the server has none.
     * @param {Batch} batch
     * @param {number[]} indexes
     * @returns {{ ops: StorageOp[], rejected: Change[] }}
     */
    reject(batch: Batch, indexes: number[]): {
        ops: StorageOp[];
        rejected: Change[];
    };
    /**
     * Applies one pull page: upserts, tombstones and removals, then the new cursor.
     * @param {Record<string, unknown[]>} data records by type
     * @param {string | null} cursor
     * @returns {StorageOp[]}
     */
    applyPage(data: Record<string, unknown[]>, cursor: string | null): StorageOp[];
    /**
     * Replaces every server copy by the records of a pull from the start (after a 410): records
     * the new pull does not name are dropped, queued changes are re-applied on top.
     * @param {Record<string, unknown[]>[]} pages
     * @param {string | null} cursor
     * @returns {StorageOp[]}
     */
    reset(pages: Record<string, unknown[]>[], cursor: string | null): StorageOp[];
    /** @param {string} type */
    serverMap(type: string): Map<string, import("./records.js").SyncRecord>;
    /**
     * @param {string} type @param {string} id
     * @param {Record<string, unknown>} record
     * @param {StorageOp[]} ops
     */
    setServer(type: string, id: string, record: Record<string, unknown>, ops: StorageOp[]): void;
    /**
     * Later queued edits of a record were made on top of the edit the server just answered, so
     * they are based on the version it produced.
     * @param {string} type @param {string} id @param {number} version
     * @param {StorageOp[]} ops
     */
    rebase(type: string, id: string, version: number, ops: StorageOp[]): void;
    /** @param {Change} change @param {StorageOp[]} ops */
    appendChange(change: Change, ops: StorageOp[]): void;
    /** @param {Change} change */
    pushChange(change: Change): void;
    /** @param {Set<number>} seqs @param {StorageOp[]} ops */
    dropChanges(seqs: Set<number>, ops: StorageOp[]): void;
    /** @param {Batch | null} batch */
    setInflight(batch: Batch | null): void;
    /** The local view of one record: its server copy with its queued changes on top. */
    /** @param {string} type @param {string} id */
    recompute(type: string, id: string): void;
    /** @param {string} type */
    bump(type: string): void;
    /** @param {string} type @param {string} id @param {Origin} origin */
    notify(type: string, id: string, origin: Origin): void;
}
export type Change = import("./records.js").Change;
export type SyncRecord = import("./records.js").SyncRecord;
export type StorageOp = import("./storage/types.js").StorageOp;
export type StorageSnapshot = import("./storage/types.js").StorageSnapshot;
/**
 * A push request fixed when it is formed: the same body and Idempotency-Key on every retry.
 */
export type Batch = {
    /**
     * the Idempotency-Key
     */
    key: string;
    /**
     * the outbox entries it carries, in body order
     */
    seqs: number[];
    body: {
        clientId?: string;
        changes: Record<string, unknown>[];
    };
};
export type PushResult = {
    index: number;
    entityType?: string | undefined;
    id?: string | undefined;
    /**
     * created | updated | deleted | unchanged | conflict_resolved | conflict
     */
    status: string;
    version?: number | undefined;
    strategy?: string | undefined;
    conflictingFields?: string[] | undefined;
};
export type Origin = "local" | "remote";
export type OnChange = (type: string, id: string, record: SyncRecord | undefined, origin: Origin) => void;
