// One push pass: send the outbox in batches until it is empty. A batch keeps its body and key
// until the server has answered it, so a retry after a lost answer is a replay, never a second
// application. A refusal that names changes rejects just those; one that names none is split
// until the culprit is alone. Whatever happens, the queue moves on.

import { SyncError } from './errors.js';

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
export async function pushAll(ctx) {
  let limit = ctx.batchSize;
  for (;;) {
    const formed = ctx.state.formBatch(limit, ctx.newKey);
    if (!formed) return;
    if (formed.ops.length > 0) await ctx.commit(formed.ops);
    const { batch } = formed;
    let answer;
    try {
      answer = await ctx.http.request('/api/client/sync/push', {
        body: batch.body,
        headers: { 'idempotency-key': batch.key },
        clientId: batch.body.clientId,
        signal: ctx.signal,
      });
    } catch (error) {
      const action = classify(error, batch.seqs.length);
      if (action.kind === 'retry') throw error;
      if (action.kind === 'rekey' || action.kind === 'split') {
        await ctx.commit(ctx.state.dropInflight());
        if (action.kind === 'split') limit = Math.max(1, Math.ceil(batch.seqs.length / 2));
        continue;
      }
      const { ops, rejected } = ctx.state.reject(batch, action.indexes);
      await ctx.commit(ops);
      const cause = /** @type {SyncError} */ (error);
      for (const change of rejected) ctx.onRejected(change, changeError(cause, batch.seqs.indexOf(change.seq)));
      limit = ctx.batchSize;
      continue;
    }
    const { ops, conflicts } = ctx.state.ackBatch(batch, answer ?? {});
    await ctx.commit(ops);
    for (const c of conflicts) ctx.onConflict(c.type, c.id, c.result);
  }
}

/**
 * What a failed push means for its batch.
 * @param {unknown} error
 * @param {number} size changes in the batch
 * @returns {{ kind: 'retry' } | { kind: 'rekey' } | { kind: 'split' } | { kind: 'reject', indexes: number[] }}
 */
export function classify(error, size) {
  if (!(error instanceof SyncError) || error.retryable) return { kind: 'retry' };
  const { status, code } = error;
  // Not about the changes: a token the server refuses, or a URL without the push route.
  if (status === 401 || status === 404 || status === 405) return { kind: 'retry' };
  // The key was used for another body (a key collision): same changes, new key.
  if (code === 'idempotency_key_reused') return { kind: 'rekey' };
  if (status === 413) return size > 1 ? { kind: 'split' } : { kind: 'reject', indexes: [0] };
  const indexes = [
    ...new Set(
      error.details
        .map((d) => d.index)
        .filter((i) => Number.isInteger(i) && /** @type {number} */ (i) >= 0 && /** @type {number} */ (i) < size),
    ),
  ];
  if (indexes.length > 0) return { kind: 'reject', indexes: /** @type {number[]} */ (indexes) };
  return size > 1 ? { kind: 'split' } : { kind: 'reject', indexes: [0] };
}

/**
 * The part of a push error about one change.
 * @param {SyncError} error
 * @param {number} index
 */
function changeError(error, index) {
  const details = error.details.filter((d) => d.index === index);
  const text = details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).join('; ');
  return new SyncError(text || error.message, { status: error.status, code: error.code, details, cause: error });
}
