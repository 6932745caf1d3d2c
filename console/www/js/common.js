// What every console page shares: the token (asked for, or pre-filled by a development server on
// a loopback address), calls to the documented HTTP API with errors turned into words, and small
// DOM helpers. Nothing here knows the server's insides: only its routes and its error body.

const TOKEN_KEY = "syncd.console.token";

/** An error of the API (or of the way to it), with words a person can read. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "network", details = [] } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** One readable sentence for any error: API errors with their status and code, others as is. */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.code === "network") return err.message;
    const details = (err.details || [])
      .map((d) => [d.index !== undefined ? `change ${d.index}` : "", d.entityType, d.field, d.message]
        .filter((x) => x !== undefined && x !== "").join(" "))
      .filter(Boolean);
    const head = `${err.status} ${err.code}: ${err.message}`;
    return details.length ? `${head} (${details.join("; ")})` : head;
  }
  if (err && typeof err === "object") {
    if (err.status && err.code && err.message) return `${err.status} ${err.code}: ${err.message}`;
    if (err.message) return err.message;
  }
  return String(err);
}

/** The claims of a JWT, read without verifying it (for display only; the server verifies). */
export function readClaims(token) {
  try {
    const part = token.split(".")[1];
    const text = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const claims = JSON.parse(text);
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

function hasExpired(claims) {
  return typeof claims?.exp === "number" && claims.exp * 1000 < Date.now();
}

/** The token in use: `{ token, claims, source }`, or null. */
export function currentToken() {
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (!stored) return null;
  try {
    const { token, source } = JSON.parse(stored);
    const claims = readClaims(token);
    if (!claims || hasExpired(claims)) {
      sessionStorage.removeItem(TOKEN_KEY);
      return null;
    }
    return { token, claims, source };
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
    return null;
  }
}

function storeToken(token, source) {
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token, source }));
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function isAdmin(auth) {
  return Array.isArray(auth?.claims?.roles) && auth.claims.roles.includes("admin");
}

/** A fetch that turns every failure into an ApiError with words. */
async function request(path, { method = "GET", body, token, clientId, headers = {} } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (clientId) h["X-Client-Id"] = clientId;
  if (body !== undefined) h["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(
      `The server did not answer (${e.message || "network error"}): it may have stopped, or the network is down.`,
    );
  }
  let json = null;
  const text = await response.text().catch(() => "");
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok || json?.success === false) {
    const error = json?.error;
    if (error && typeof error === "object") {
      throw new ApiError(error.message || response.statusText, {
        status: response.status,
        code: error.code || "error",
        details: Array.isArray(error.details) ? error.details : [],
      });
    }
    throw new ApiError(`the server answered ${response.status} ${response.statusText} without an explanation`, {
      status: response.status,
      code: "http_error",
    });
  }
  if (json === null) {
    throw new ApiError(`the server answered ${response.status} with something that is not JSON`, {
      status: response.status,
      code: "bad_answer",
    });
  }
  return json;
}

/** Calls the API with the current token. */
export function api(path, options = {}) {
  const auth = currentToken();
  return request(path, { ...options, token: auth?.token });
}

/**
 * Makes sure the page has a token: the stored one, else the development token when the server
 * offers it, else the token form. Resolves with `{ token, claims, source }` once there is one.
 */
export async function ensureToken() {
  const have = currentToken();
  if (have) return have;
  try {
    const answer = await request("/console/dev-token");
    if (answer?.data?.token) {
      storeToken(answer.data.token, "development");
      return currentToken();
    }
  } catch {
    // Not offered here (production, or not loopback): ask for one.
  }
  return askForToken();
}

/** Shows the token form and resolves once a token the server accepts was entered. */
export function askForToken(reason) {
  return new Promise((resolve) => {
    const main = document.querySelector("main");
    const dialog = el("section", { class: "card token-form", id: "token-form" }, [
      el("h2", {}, "A bearer token, please"),
      el("p", {}, reason || [
        "This server asks for a JWT: the ", el("code", {}, "Authorization: Bearer"), " token your apps use. ",
        "Activity needs one with the ", el("code", {}, "admin"), " role. The token stays in this browser tab only.",
      ]),
      el("label", { for: "token-input" }, "Token"),
      el("textarea", { id: "token-input", rows: "4", spellcheck: "false", autocomplete: "off", placeholder: "eyJhbGciOi…" }),
      el("div", { class: "row" }, [
        el("button", { id: "token-use", class: "primary", type: "button" }, "Use this token"),
        el("span", { id: "token-error", class: "error-text", role: "alert" }),
      ]),
    ]);
    main.prepend(dialog);
    document.body.classList.add("needs-token");
    const input = dialog.querySelector("#token-input");
    const error = dialog.querySelector("#token-error");
    dialog.querySelector("#token-use").addEventListener("click", async () => {
      const token = input.value.trim().replace(/^Bearer\s+/i, "");
      error.textContent = "";
      const claims = readClaims(token);
      if (!claims) {
        error.textContent = "That is not a JWT (three base64url parts separated by dots).";
        return;
      }
      if (hasExpired(claims)) {
        error.textContent = `That token expired at ${new Date(claims.exp * 1000).toLocaleString()}.`;
        return;
      }
      try {
        // Any authenticated read tells whether the server accepts the token.
        await request("/api/client/sync/conflicts?limit=1", { token });
      } catch (e) {
        if (e instanceof ApiError && e.status !== 403) {
          error.textContent = `The server refused it: ${describeError(e)}`;
          return;
        }
      }
      storeToken(token, "pasted");
      dialog.remove();
      document.body.classList.remove("needs-token");
      resolve(currentToken());
    });
  });
}

/** Fills the header's token box: who the console speaks as, and a way to change it. */
export function showIdentity(auth) {
  const box = document.getElementById("identity");
  if (!box) return;
  box.replaceChildren();
  if (!auth) return;
  const roles = Array.isArray(auth.claims.roles) && auth.claims.roles.length ? auth.claims.roles.join(", ") : "no roles";
  const tenant = auth.claims.tenant_id || auth.claims.tid || "?";
  box.append(
    el("span", { class: "who", title: `subject ${auth.claims.sub}` },
      `tenant ${tenant} · ${roles}${auth.source === "development" ? " · development token" : ""}`),
    el("button", { type: "button", class: "link", id: "change-token" }, "Change token"),
  );
  box.querySelector("#change-token").addEventListener("click", () => {
    forgetToken();
    sessionStorage.setItem("syncd.console.ask", "1");
    location.reload();
  });
}

/** The common start of every page: marks the nav, gets a token, shows who we are. */
export async function startPage() {
  const page = document.body.dataset.page;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
  }
  let auth;
  if (sessionStorage.getItem("syncd.console.ask")) {
    sessionStorage.removeItem("syncd.console.ask");
    auth = await askForToken();
  } else {
    auth = await ensureToken();
  }
  showIdentity(auth);
  return auth;
}

/** Shows (or clears) the page's banner: errors in words, never a blank page. */
export function banner(message, kind = "error") {
  const box = document.getElementById("banner");
  if (!box) return;
  if (!message) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.className = `banner ${kind}`;
  box.textContent = message;
}

/** Runs `fn`, showing its error in the banner; returns its result or undefined. */
export async function guarded(fn, what) {
  try {
    const result = await fn();
    return result;
  } catch (e) {
    banner(`${what}: ${describeError(e)}`);
    return undefined;
  }
}

/** `[HH:MM:SS]` of a time (now by default), as the seed's logs write it. */
export function clock(date = new Date()) {
  const p = (n) => String(n).padStart(2, "0");
  return `[${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}]`;
}

/** A short, readable local time of an RFC 3339 string. */
export function when(text) {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return String(text ?? "");
  return d.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

/** Fields the server manages; they are not the record's content. */
export const SERVER_FIELDS = new Set([
  "id", "version", "createdAt", "updatedAt", "deleted", "sync_status", "server_synced", "last_updated", "removed",
]);

/** A record's human name: its `name` or `title`, else its first text field, else its id. */
export function label(record) {
  if (!record || typeof record !== "object") return "";
  for (const key of ["name", "title", "first_name", "email"]) {
    if (typeof record[key] === "string" && record[key]) return record[key];
  }
  for (const [key, value] of Object.entries(record)) {
    if (!SERVER_FIELDS.has(key) && typeof value === "string" && value && value.length < 80) return value;
  }
  return shortId(record.id);
}

export function shortId(id) {
  // UUID v7 ids share their first characters (a time); the last ones tell records apart.
  return typeof id === "string" ? `…${id.slice(-8)}` : "";
}

/** Renders a JSON value compactly for a table cell. */
export function show(value) {
  if (value === undefined) return "—";
  if (value === null) return "null";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** `el("div", {class: "x"}, [children | text])`: a tiny DOM builder (text is never parsed as HTML). */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  for (const child of [].concat(children)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The registered entity types, read from the OpenAPI document's `/api/{type}` paths. */
export async function entityTypes() {
  let doc;
  try {
    const r = await fetch("/openapi.json");
    doc = await r.json();
  } catch (e) {
    throw new ApiError(`The server did not answer (${e.message || "network error"}): it may have stopped.`);
  }
  return Object.keys(doc.paths || {})
    .map((p) => /^\/api\/([a-z][a-z0-9_]*)$/.exec(p)?.[1])
    .filter(Boolean)
    .filter((t) => t !== "admin");
}
