// Conflicts: the open manual conflicts (GET /api/client/sync/conflicts), the server's and the
// client's copies side by side with the differing fields marked, a choice per field, and
// resolve (POST /api/client/sync/conflicts/{id}/resolve).
import {
  SERVER_FIELDS, api, banner, describeError, el, entityTypes, label, shortId, show, startPage, when,
} from "./common.js";

const list = document.getElementById("conflicts");
const count = document.getElementById("conflicts-count");
const typeSelect = document.getElementById("conflict-type");

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The content fields of a conflict, in a stable order: server fields, then client-only ones. */
function fieldsOf(conflict) {
  const server = conflict.serverData || {};
  const client = conflict.clientData || {};
  const names = [];
  for (const k of [...Object.keys(server), ...Object.keys(client)]) {
    if (!SERVER_FIELDS.has(k) && !names.includes(k)) names.push(k);
  }
  return names;
}

function differs(conflict, field) {
  const client = conflict.clientData || {};
  if (!(field in client)) return false;
  return !same((conflict.serverData || {})[field], client[field]) || (conflict.fields || []).includes(field);
}

function renderConflict(conflict) {
  const server = conflict.serverData || {};
  const client = conflict.clientData || {};
  const fields = fieldsOf(conflict);
  const differing = fields.filter((f) => differs(conflict, f));
  const body = el("tbody");
  for (const field of fields) {
    const diff = differing.includes(field);
    const inClient = field in client;
    const name = `choice-${conflict.id}-${field}`;
    const choice = el("td", { class: "choice" }, inClient && diff
      ? [
        el("label", {}, [el("input", { type: "radio", name, value: "server", checked: true, "data-field": field }), " server"]),
        el("label", {}, [el("input", { type: "radio", name, value: "client", "data-field": field }), " client"]),
      ]
      : el("span", { class: "muted small" }, inClient ? "same" : "server only"));
    body.append(el("tr", { class: diff ? "diff" : undefined, dataset: { field } }, [
      el("td", {}, [diff ? el("span", { class: "marker", title: "differs" }, "≠ ") : "", field]),
      el("td", { class: "value-cell" }, show(server[field])),
      el("td", { class: "value-cell" }, inClient ? show(client[field]) : el("span", { class: "muted" }, "not sent")),
      choice,
    ]));
  }
  const result = el("span", { class: "small", role: "status" });
  const card = el("section", { class: "card conflict", dataset: { conflictId: conflict.id, recordId: conflict.recordId } }, [
    el("div", { class: "row" }, [
      el("h2", { class: "grow" }, `${conflict.entityType} · ${label(server)} `),
      el("span", { class: "badge warn" }, `${differing.length} differing field${differing.length === 1 ? "" : "s"}`),
    ]),
    el("p", { class: "muted small" },
      `Record ${conflict.recordId} · server version ${conflict.serverVersion ?? server.version ?? "?"} · ` +
      `client ${conflict.clientId} · ${when(conflict.createdAt)} · strategy ${conflict.strategy || "manual"}`),
    el("div", { class: "scroll" }, el("table", {}, [
      el("thead", {}, el("tr", {}, [el("th", {}, "Field"), el("th", {}, "Server copy"), el("th", {}, "Client copy"), el("th", {}, "Keep")])),
      body,
    ])),
    el("div", { class: "row", style: "margin-top:.6rem" }, [
      el("button", { type: "button", class: "all-server" }, "All server"),
      el("button", { type: "button", class: "all-client" }, "All client"),
      el("button", { type: "button", class: "primary resolve" }, "Resolve"),
      result,
    ]),
  ]);
  const pick = (side) => {
    for (const input of card.querySelectorAll(`input[type=radio][value=${side}]`)) input.checked = true;
  };
  card.querySelector(".all-server").addEventListener("click", () => pick("server"));
  card.querySelector(".all-client").addEventListener("click", () => pick("client"));
  card.querySelector(".resolve").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const data = {};
    for (const field of fields) {
      const chosen = card.querySelector(`input[type=radio][data-field="${CSS.escape(field)}"]:checked`);
      data[field] = chosen?.value === "client" ? client[field] : server[field];
      if (data[field] === undefined) delete data[field];
    }
    button.disabled = true;
    result.className = "small";
    result.textContent = "Resolving…";
    try {
      const answer = await api(`/api/client/sync/conflicts/${encodeURIComponent(conflict.id)}/resolve`, {
        method: "POST",
        body: { data },
      });
      const record = answer.data || {};
      result.className = "small ok-text";
      result.textContent = `Resolved: ${conflict.entityType} ${shortId(record.id)} is now version ${record.version}.`;
      card.classList.add("resolved");
      for (const b of card.querySelectorAll("button")) b.disabled = true;
      setTimeout(() => { card.remove(); updateCount(); }, 1500);
    } catch (e) {
      button.disabled = false;
      result.className = "small error-text";
      result.textContent = `Not resolved: ${describeError(e)}`;
    }
  });
  return card;
}

function updateCount() {
  const n = list.querySelectorAll(".conflict:not(.resolved)").length;
  count.textContent = n === 0 ? "" : `${n} open`;
  if (n === 0 && !list.querySelector(".conflict")) {
    list.replaceChildren(el("p", { class: "card muted", id: "no-conflicts" }, "No open conflicts. Conflicts appear here when a type's strategy is `manual` and two apps edit the same record from the same version."));
  }
}

async function load() {
  const type = typeSelect.value;
  const query = new URLSearchParams({ limit: "100" });
  if (type) query.set("entityType", type);
  try {
    const answer = await api(`/api/client/sync/conflicts?${query}`);
    banner("");
    list.replaceChildren(...(answer.data || []).map(renderConflict));
    updateCount();
  } catch (e) {
    banner(`The conflicts could not be loaded: ${describeError(e)}`);
  }
}

async function main() {
  await startPage();
  try {
    for (const t of await entityTypes()) typeSelect.append(el("option", { value: t }, t));
  } catch (e) {
    banner(`The entity types could not be read: ${describeError(e)}`);
  }
  typeSelect.addEventListener("change", load);
  document.getElementById("conflicts-refresh").addEventListener("click", load);
  await load();
}

main().catch((e) => banner(`The page could not start: ${describeError(e)}`));
