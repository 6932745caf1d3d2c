// Data: the records of a type (GET /api/{type}?search=…), and a record's history
// (GET /api/{type}/{id}/history): each version with its client, subject, time and changed fields.
import {
  SERVER_FIELDS, api, banner, describeError, el, entityTypes, label, shortId, show, startPage, when,
} from "./common.js";

const form = document.getElementById("data-form");
const typeSelect = document.getElementById("data-type");
const search = document.getElementById("data-search");
const deleted = document.getElementById("data-deleted");
const table = document.getElementById("data-table");
const empty = document.getElementById("data-empty");
const more = document.getElementById("data-more");
const countBox = document.getElementById("data-count");
const history = document.getElementById("history");
const historyTitle = document.getElementById("history-title");
const historyHint = document.getElementById("history-hint");

let rows = [];
let cursor = null;
let columns = [];

/** Up to three content columns, text fields first (flags such as `active` say little in a list). */
function pickColumns(records) {
  const text = [];
  const other = [];
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (SERVER_FIELDS.has(k) || text.includes(k) || other.includes(k)) continue;
      (typeof v === "string" ? text : other).push(k);
    }
  }
  return [...text, ...other.filter((k) => !text.includes(k))].slice(0, 3);
}

function renderTable() {
  const head = el("tr", {}, [
    ...columns.map((c) => el("th", {}, c)),
    el("th", {}, "version"),
    el("th", { class: "hide-narrow" }, "updated"),
  ]);
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...rows.map((r) => {
    const tr = el("tr", { class: "clickable", tabindex: "0", dataset: { id: r.id } }, [
      ...columns.map((c) => el("td", { class: "value-cell" }, show(r[c]))),
      el("td", {}, [String(r.version), r.deleted ? el("span", { class: "badge bad" }, " deleted") : ""]),
      el("td", { class: "hide-narrow small" }, when(r.updatedAt)),
    ]);
    const open = () => showHistory(r, tr);
    tr.addEventListener("click", open);
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    return tr;
  }));
  empty.hidden = rows.length > 0;
  countBox.textContent = rows.length ? `(${rows.length}${more.hidden ? "" : "+"})` : "";
}

async function load(append = false) {
  const type = typeSelect.value;
  if (!type) return;
  const query = new URLSearchParams({ limit: "50" });
  if (search.value.trim()) query.set("search", search.value.trim());
  if (deleted.checked) query.set("includeDeleted", "true");
  if (append && cursor) query.set("cursor", cursor);
  try {
    const answer = await api(`/api/${encodeURIComponent(type)}?${query}`);
    banner("");
    const records = answer.data || [];
    rows = append ? rows.concat(records) : records;
    cursor = answer.cursor || null;
    more.hidden = !answer.hasMore;
    if (!append) columns = pickColumns(rows);
    renderTable();
  } catch (e) {
    rows = [];
    renderTable();
    banner(`The ${type} records could not be listed: ${describeError(e)}`);
  }
}

async function showHistory(record, tr) {
  for (const r of table.querySelectorAll("tr.selected")) r.classList.remove("selected");
  tr.classList.add("selected");
  const type = typeSelect.value;
  historyTitle.textContent = `${type} · ${label(record)} (${shortId(record.id)})`;
  historyHint.hidden = true;
  history.replaceChildren(el("li", { class: "muted" }, "Loading…"));
  try {
    const answer = await api(`/api/${encodeURIComponent(type)}/${encodeURIComponent(record.id)}/history`);
    const versions = answer.data || [];
    if (!versions.length) {
      history.replaceChildren(el("li", { class: "muted" }, "No versions inside the history window."));
      return;
    }
    history.replaceChildren(...versions.slice().reverse().map((v) => el("li", { class: "version", dataset: { version: v.version } }, [
      el("div", { class: "row" }, [
        el("strong", {}, `Version ${v.version}`),
        el("span", { class: v.action === "delete" ? "badge bad" : v.action === "create" ? "badge ok" : "badge" }, v.action),
        el("span", { class: "small" }, when(v.at)),
      ]),
      el("div", { class: "small" }, [
        "by client ", el("code", { class: "client" }, v.clientId), " · subject ", el("code", {}, v.subject),
      ]),
      el("div", { class: "small muted" }, `changed: ${(v.changedFields || []).join(", ") || "nothing"}`),
      el("details", {}, [el("summary", { class: "small" }, "data"), el("pre", {}, JSON.stringify(v.data, null, 2))]),
    ])));
  } catch (e) {
    history.replaceChildren(el("li", { class: "error-text" }, `The history could not be read: ${describeError(e)}`));
  }
}

async function main() {
  await startPage();
  let types = [];
  try {
    types = await entityTypes();
  } catch (e) {
    banner(`The entity types could not be read: ${describeError(e)}`);
  }
  for (const t of types) typeSelect.append(el("option", { value: t }, t));
  const wanted = new URLSearchParams(location.search).get("type");
  if (wanted && types.includes(wanted)) typeSelect.value = wanted;
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  typeSelect.addEventListener("change", () => {
    history.replaceChildren();
    historyTitle.textContent = "";
    historyHint.hidden = false;
    load();
  });
  deleted.addEventListener("change", () => load());
  more.addEventListener("click", () => load(true));
  await load();
}

main().catch((e) => banner(`The page could not start: ${describeError(e)}`));
