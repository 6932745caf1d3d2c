// Where bearer tokens come from. `getToken` wins over a fixed `token`; a refresh asks `getToken`
// once even when the HTTP side and the WebSocket need a new token at the same moment.

/** @typedef {() => string | Promise<string>} GetToken */

export class TokenSource {
  /**
   * @param {{ token?: string, getToken?: GetToken }} options
   */
  constructor({ token, getToken }) {
    if (!getToken && typeof token !== 'string') {
      throw new TypeError('createClient needs `token` or `getToken`');
    }
    /** @type {GetToken | undefined} */
    this.getToken = getToken;
    /** @type {string | undefined} */
    this.token = getToken ? undefined : token;
    /** @type {Promise<string> | undefined} */
    this.pending = undefined;
    /** @type {Set<(token: string) => void>} */
    this.listeners = new Set();
  }

  /** The token to use now (asks `getToken` the first time). */
  async current() {
    if (this.token !== undefined) return this.token;
    return this.refresh();
  }

  /** True when a refresh can give another token than the one in use. */
  get refreshable() {
    return this.getToken !== undefined;
  }

  /**
   * A fresh token from `getToken` (shared by concurrent callers). With a fixed token this is
   * the same token again.
   */
  refresh() {
    const getToken = this.getToken;
    if (!getToken) return Promise.resolve(/** @type {string} */ (this.token));
    if (!this.pending) {
      this.pending = (async () => {
        try {
          const token = await getToken();
          if (typeof token !== 'string' || token === '') {
            throw new TypeError('getToken must resolve to a non-empty string');
          }
          const changed = token !== this.token;
          this.token = token;
          if (changed) for (const listener of this.listeners) listener(token);
          return token;
        } finally {
          this.pending = undefined;
        }
      })();
    }
    return this.pending;
  }

  /**
   * Called with every new token (the WebSocket re-authenticates with it).
   * @param {(token: string) => void} listener
   */
  onToken(listener) {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

/**
 * The `exp` claim of a JWT in milliseconds, read without verifying (only to refresh in time);
 * undefined for a token that is not a readable JWT.
 * @param {string} token
 */
export function tokenExpiry(token) {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const claims = JSON.parse(atob(padded));
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
