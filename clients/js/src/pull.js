// One pull pass: page by cursor until `hasMore` is false, each page applied and its cursor stored
// in one commit. A 410 (the cursor is of another epoch, ahead of the head or behind the horizon)
// starts over from nothing; the new copy replaces the old one only once it is complete.

import { SyncError } from './errors.js';

/** @typedef {import('./local-state.js').LocalState} LocalState */
/** @typedef {import('./http.js').HttpTransport} HttpTransport */
/** @typedef {import('./storage/types.js').StorageOp} StorageOp */

/**
 * @typedef {object} PullContext
 * @property {LocalState} state
 * @property {HttpTransport} http
 * @property {(ops: StorageOp[]) => Promise<void>} commit
 * @property {string[] | undefined} entityTypes
 * @property {number} limit records per page
 * @property {boolean} reset start from nothing (the server asked for it)
 * @property {AbortSignal} [signal]
 */

/**
 * @param {PullContext} ctx
 * @returns {Promise<{ reset: boolean }>}
 */
export async function pullAll(ctx) {
  if (ctx.reset) {
    await pullFromStart(ctx);
    return { reset: true };
  }
  try {
    await pullForward(ctx);
    return { reset: false };
  } catch (error) {
    if (!(error instanceof SyncError) || error.status !== 410) throw error;
    await pullFromStart(ctx);
    return { reset: true };
  }
}

/** @param {PullContext} ctx */
async function pullForward(ctx) {
  for (;;) {
    const before = ctx.state.cursor;
    const page = await fetchPage(ctx, before);
    await ctx.commit(ctx.state.applyPage(page.data, page.cursor ?? before));
    if (!page.hasMore) return;
    stuck(page, before);
  }
}

/** @param {PullContext} ctx */
async function pullFromStart(ctx) {
  /** @type {Record<string, unknown[]>[]} */
  const pages = [];
  /** @type {string | null} */
  let cursor = null;
  for (;;) {
    const page = await fetchPage(ctx, cursor);
    pages.push(page.data);
    const before = cursor;
    cursor = page.cursor ?? cursor;
    if (!page.hasMore) break;
    stuck(page, before);
  }
  await ctx.commit(ctx.state.reset(pages, cursor));
}

/**
 * @param {PullContext} ctx
 * @param {string | null} cursor
 * @returns {Promise<{ data: Record<string, unknown[]>, cursor: string | null, hasMore: boolean }>}
 */
async function fetchPage(ctx, cursor) {
  /** @type {Record<string, unknown>} */
  const body = { limit: ctx.limit };
  if (cursor) body.cursor = cursor;
  if (ctx.entityTypes) body.entityTypes = ctx.entityTypes;
  const page = await ctx.http.request('/api/client/sync/pull', { body, signal: ctx.signal });
  if (!page || typeof page !== 'object' || typeof page.data !== 'object') {
    throw new SyncError('the pull answer has no data', { status: 200, code: 'bad_response' });
  }
  return { data: page.data ?? {}, cursor: typeof page.cursor === 'string' ? page.cursor : null, hasMore: page.hasMore === true };
}

/**
 * A page that says "more" without moving the cursor would loop for ever.
 * @param {{ cursor: string | null }} page
 * @param {string | null} before
 */
function stuck(page, before) {
  if (page.cursor === null || page.cursor === before) {
    throw new SyncError('the server said hasMore without a new cursor', { status: 200, code: 'bad_response' });
  }
}
