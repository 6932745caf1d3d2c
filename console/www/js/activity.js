// Activity (the seed's admin dashboard): the figures of GET /api/admin/stats (role `admin`),
// polled every two seconds, and a live feed of the tenant's changes from the SDK's RealtimeSync
// (a WebSocket subscribed with `includeData`: one `data_update` per changed record).
import { RealtimeSync } from "@syncd/client";
import {
  api, banner, describeError, el, entityTypes, isAdmin, label, shortId, startPage,
} from "./common.js";

const POLL_MS = 2000;
const FEED_MAX = 200;

const tiles = document.getElementById("tiles");
const typeTable = document.querySelector("#type-counts tbody");
const strategyTable = document.querySelector("#strategy-counts tbody");
const updated = document.getElementById("activity-updated");
const feed = document.getElementById("feed");
const feedEmpty = document.getElementById("feed-empty");
const feedState = document.getElementById("feed-state");

function tile(id, labelText, value, sub) {
  return el("div", { class: "tile", id }, [
    el("div", { class: "label" }, labelText),
    el("div", { class: "value" }, value),
    sub ? el("div", { class: "sub" }, sub) : null,
  ]);
}

const ms = (v) => (v === null || v === undefined ? "—" : `${v} ms`);

function render(s) {
  tiles.replaceChildren(
    tile("tile-connections", "Connected clients", String(s.connections), "WebSockets on this instance"),
    tile("tile-pushes", "Pushes / minute", String(s.pushes.lastMinute), `${s.pushes.lastHour} in the last hour`),
    tile("tile-changes", "Changes / minute", String(s.changes.lastMinute), `${s.changes.lastHour} in the last hour`),
    tile("tile-conflicts", "Open conflicts", String(s.openConflicts), "manual strategy"),
    tile("tile-latency", "Push latency p50", ms(s.pushLatencyMs.p50), `p99 ${ms(s.pushLatencyMs.p99)} · 5 min`),
    tile("tile-resyncs", "Resyncs", String(s.resyncs), "resync_required sent"),
  );
  typeTable.replaceChildren(...Object.entries(s.types).map(([type, c]) =>
    el("tr", { dataset: { type } }, [
      el("td", {}, el("a", { href: `/console/data?type=${encodeURIComponent(type)}` }, type)),
      el("td", { class: "live" }, String(c.live)),
      el("td", { class: "tombstones" }, String(c.tombstones)),
    ])));
  strategyTable.replaceChildren(...Object.entries(s.conflictsByStrategy).map(([strategy, n]) =>
    el("tr", { dataset: { strategy } }, [el("td", {}, strategy), el("td", {}, String(n))])));
  updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
}

let polling = false;
let lastStats = null;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    const answer = await api("/api/admin/stats");
    lastStats = answer.data;
    render(answer.data);
    banner("");
  } catch (e) {
    banner(`The statistics could not be read: ${describeError(e)}`);
    updated.textContent = "not up to date";
  } finally {
    polling = false;
  }
}

function addToFeed(message) {
  const d = message.data || {};
  const record = d.data || {};
  const action = d.action === "create" ? "created" : d.action === "delete" ? "deleted"
    : d.action === "remove" ? "removed" : "updated";
  const time = new Date(message.timestamp || Date.now());
  const item = el("li", { dataset: { type: d.type, id: record.id, action: d.action } }, [
    el("span", { class: "t" }, time.toLocaleTimeString()),
    el("span", { class: d.action === "delete" ? "badge bad" : d.action === "create" ? "badge ok" : "badge" }, action),
    el("span", {}, [
      el("strong", {}, d.type), ` ${label(record)} `,
      el("span", { class: "muted small" },
        `${shortId(record.id)}${record.version ? ` v${record.version}` : ""}${d.originClientId ? ` by ${d.originClientId}` : ""}`),
    ]),
  ]);
  feed.prepend(item);
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
  feedEmpty.hidden = true;
}

async function main() {
  const auth = await startPage();
  if (!isAdmin(auth)) {
    document.getElementById("activity-body").replaceChildren(el("section", { class: "card", id: "needs-admin" }, [
      el("h2", {}, "This page needs the admin role"),
      el("p", {}, `Activity reads GET /api/admin/stats, which answers tokens with the \`admin\` role only. ` +
        `The current token (tenant ${auth.claims.tenant_id ?? auth.claims.tid ?? "?"}, subject ${auth.claims.sub}) ` +
        `has ${Array.isArray(auth.claims.roles) && auth.claims.roles.length ? `the roles ${auth.claims.roles.join(", ")}` : "no roles"}. ` +
        "Use “Change token” above with an admin token."),
    ]));
    banner("Activity needs a token with the admin role.");
    return;
  }
  await poll();
  setInterval(poll, POLL_MS);

  const live = new RealtimeSync({ url: location.origin, token: auth.token, clientId: "console-activity" });
  live.on("status", (status) => {
    feedState.textContent = status;
    feedState.className = status === "connected" ? "badge ok" : "badge warn";
    if (status === "connected") poll();
  });
  live.on("message", (message) => {
    if (message.type === "data_update") {
      addToFeed(message);
    } else if (message.type === "sync_notification") {
      // Something was written: the figures too are worth reading now.
      poll();
    } else if (message.type === "error") {
      banner(`The live feed: ${message.data?.code ?? "error"}: ${message.data?.message ?? ""}`);
    }
  });
  // The types the statistics list are those the token may read.
  let types = lastStats ? Object.keys(lastStats.types) : [];
  if (!types.length) {
    try {
      types = await entityTypes();
    } catch (e) {
      banner(`The entity types could not be read: ${describeError(e)}`);
    }
  }
  for (const type of types) live.subscribe(type, () => {});
  live.connect();
}

main().catch((e) => banner(`The page could not start: ${describeError(e)}`));
