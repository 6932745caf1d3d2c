// A small typed event emitter. A handler that throws is reported and skipped: it must not stop
// the SDK half-way through applying a page of changes.

/**
 * @template {Record<string, any>} Events
 */
export class Emitter {
  /** @param {readonly (keyof Events)[]} names the events that exist */
  constructor(names) {
    /** @type {Map<keyof Events, Set<(payload: any) => void>>} */
    this.handlers = new Map(names.map((n) => [n, new Set()]));
  }

  /**
   * @template {keyof Events} K
   * @param {K} name
   * @param {(payload: Events[K]) => void} handler
   * @returns {() => void} unsubscribe
   */
  on(name, handler) {
    const set = this.handlers.get(name);
    if (!set) throw new TypeError(`unknown event \`${String(name)}\``);
    if (typeof handler !== 'function') throw new TypeError('the handler must be a function');
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  /** @param {keyof Events} name */
  has(name) {
    return (this.handlers.get(name)?.size ?? 0) > 0;
  }

  /**
   * @template {keyof Events} K
   * @param {K} name
   * @param {Events[K]} payload
   */
  emit(name, payload) {
    const set = this.handlers.get(name);
    if (!set || set.size === 0) return;
    for (const handler of [...set]) {
      try {
        handler(payload);
      } catch (error) {
        console.error(`@syncd/client: a \`${String(name)}\` handler threw`, error);
      }
    }
  }
}
