/** @typedef {import('./local-state.js').LocalState} LocalState */
/** @typedef {import('./local-state.js').Batch} Batch */
/** @typedef {import('./local-state.js').PushResult} PushResult */
/** @typedef {import('./records.js').Change} Change */
/** @typedef {import('./http.js').HttpTransport} HttpTransport */
/** @typedef {import('./storage/types.js').StorageOp} StorageOp */
/**
 * @typedef {object} PushContext
 * @property {LocalState} state
 * @property {HttpTransport} http
 * @property {(ops: StorageOp[]) => Promise<void>} commit
 * @property {number} batchSize
 * @property {() => string} newKey
 * @property {AbortSignal} [signal]
 * @property {(change: Change, error: SyncError) => void} onRejected
 * @property {(type: string, id: string, result: PushResult) => void} onConflict
 */
/**
 * Pushes until the outbox is empty; rejects with the error that stopped it (the batch in
 * flight stays stored and is sent again, unchanged, by the next pass).
 * @param {PushContext} ctx
 */
export function pushAll(ctx: PushContext): Promise<void>;
/**
 * What a failed push means for its batch.
 * @param {unknown} error
 * @param {number} size changes in the batch
 * @returns {{ kind: 'retry' } | { kind: 'rekey' } | { kind: 'split' } | { kind: 'reject', indexes: number[] }}
 */
export function classify(error: unknown, size: number): {
    kind: "retry";
} | {
    kind: "rekey";
} | {
    kind: "split";
} | {
    kind: "reject";
    indexes: number[];
};
export type LocalState = import("./local-state.js").LocalState;
export type Batch = import("./local-state.js").Batch;
export type PushResult = import("./local-state.js").PushResult;
export type Change = import("./records.js").Change;
export type HttpTransport = import("./http.js").HttpTransport;
export type StorageOp = import("./storage/types.js").StorageOp;
export type PushContext = {
    state: LocalState;
    http: HttpTransport;
    commit: (ops: StorageOp[]) => Promise<void>;
    batchSize: number;
    newKey: () => string;
    signal?: AbortSignal | undefined;
    onRejected: (change: Change, error: SyncError) => void;
    onConflict: (type: string, id: string, result: PushResult) => void;
};
import { SyncError } from './errors.js';
