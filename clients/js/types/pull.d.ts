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
export function pullAll(ctx: PullContext): Promise<{
    reset: boolean;
}>;
export type LocalState = import("./local-state.js").LocalState;
export type HttpTransport = import("./http.js").HttpTransport;
export type StorageOp = import("./storage/types.js").StorageOp;
export type PullContext = {
    state: LocalState;
    http: HttpTransport;
    commit: (ops: StorageOp[]) => Promise<void>;
    entityTypes: string[] | undefined;
    /**
     * records per page
     */
    limit: number;
    /**
     * start from nothing (the server asked for it)
     */
    reset: boolean;
    signal?: AbortSignal | undefined;
};
