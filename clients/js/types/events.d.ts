/**
 * @template {Record<string, any>} Events
 */
export class Emitter<Events extends Record<string, any>> {
    /** @param {readonly (keyof Events)[]} names the events that exist */
    constructor(names: readonly (keyof Events)[]);
    /** @type {Map<keyof Events, Set<(payload: any) => void>>} */
    handlers: Map<keyof Events, Set<(payload: any) => void>>;
    /**
     * @template {keyof Events} K
     * @param {K} name
     * @param {(payload: Events[K]) => void} handler
     * @returns {() => void} unsubscribe
     */
    on<K extends keyof Events>(name: K, handler: (payload: Events[K]) => void): () => void;
    /** @param {keyof Events} name */
    has(name: keyof Events): boolean;
    /**
     * @template {keyof Events} K
     * @param {K} name
     * @param {Events[K]} payload
     */
    emit<K extends keyof Events>(name: K, payload: Events[K]): void;
}
