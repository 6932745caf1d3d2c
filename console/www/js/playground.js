// Playground (the seed's "Multi-App Sync Flow" test tool): apps side by side, each a real
// `@syncd/client` with its own clientId (`app-1`, `app-2`, …). The log lines read like the seed's
// expected results.
//
// The SDK's client keeps the server's WebSocket messages to itself; to log them, each app hands
// the client a WebSocket class (the `WebSocket` option of createClient) that is the browser's own
// with a listener added. The client's socket is the app's only socket.
import { createClient, memoryStorage } from "@syncd/client";
import { banner, clock, describeError, el, label, startPage } from "./common.js";

const appsBox = document.getElementById("apps");
const stateBox = document.getElementById("playground-state");
const apps = [];
let auth = null;

const SAMPLES = [
  { name: "John Doe", email: "john@example.com", phone: "1234567890" },
  { name: "Jane Smith", email: "jane@example.com", phone: "5550100" },
  { name: "Ali Khan", email: "ali@example.com", phone: "5550111" },
  { name: "Maria Garcia", email: "maria@example.com", phone: "5550122" },
];

/** The browser's WebSocket, reporting what it hears to `tap`. */
function tappedWebSocket(tap) {
  return class TappedWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener("open", () => tap.open());
      this.addEventListener("message", (event) => tap.message(event.data));
      this.addEventListener("close", (event) => tap.close(event.code));
    }
  };
}

class App {
  constructor(n) {
    this.n = n;
    this.clientId = `app-${n}`;
    this.offline = false;
    this.started = false;
    this.build();
    this.client = createClient({
      url: location.origin,
      token: auth.token,
      clientId: this.clientId,
      storage: memoryStorage(),
      entityTypes: ["end_user"],
      WebSocket: tappedWebSocket({
        open: () => this.log("WebSocket connected"),
        message: (data) => this.heard(data),
        // 1000 is the client closing its own socket (stop, offline); anything else is news.
        close: (code) => {
          if (code !== 1000 && this.started) this.log(`WebSocket closed (code ${code}); the client reconnects`, "error");
        },
      }),
    });
    this.client.on("status", (s) => this.showStatus(s));
    this.client.on("change", () => this.showRecords());
    this.rejections = 0;
    this.client.on("rejected", ({ error, change }) => {
      this.rejections += 1;
      this.log(`Rejected by the server: ${describeError(error)} (${change?.type ?? "record"})`, "error");
    });
    this.client.on("conflict", ({ type, result }) =>
      this.log(`Conflict on ${type}: ${result?.status ?? "conflict"}${result?.conflictingFields?.length ? ` (${result.conflictingFields.join(", ")})` : ""}`, "notify"));
    this.showStatus(this.client.status);
  }

  build() {
    const n = this.n;
    const sample = SAMPLES[(n - 1) % SAMPLES.length];
    this.card = el("section", { class: "card app", id: `app-${n}`, dataset: { client: this.clientId } }, [
      el("h2", {}, [`App ${n}`, el("code", { class: "small muted" }, this.clientId), el("span", { class: "badge state" }, "disconnected")]),
      el("div", { class: "row small" }, [
        el("label", { class: "switch" }, [el("input", { type: "checkbox", class: "offline" }), "Offline"]),
        el("span", { class: "grow" }),
        el("span", {}, ["pending ", el("strong", { class: "pending" }, "0")]),
      ]),
      el("form", { class: "send" }, [
        el("input", { type: "text", class: "name", name: "name", placeholder: "Name", "aria-label": `App ${n} name`, value: sample.name }),
        el("input", { type: "email", name: "email", placeholder: "Email", "aria-label": `App ${n} email`, value: sample.email }),
        el("input", { type: "tel", name: "phone", placeholder: "Phone", "aria-label": `App ${n} phone`, value: sample.phone }),
        el("button", { type: "submit", class: "primary send-data" }, "Send data"),
      ]),
      el("div", { class: "row" }, [
        el("button", { type: "button", class: "pull-data" }, "Pull data"),
        el("span", { class: "small muted records-count" }, "no local records"),
      ]),
      el("ul", { class: "records" }),
      el("ol", { class: "log", "aria-label": `App ${n} log`, "aria-live": "polite" }),
    ]);
    this.card.querySelector("form.send").addEventListener("submit", (e) => {
      e.preventDefault();
      this.send().catch((err) => this.log(`Error: ${describeError(err)}`, "error"));
    });
    this.card.querySelector(".pull-data").addEventListener("click", () => {
      this.pull().catch((err) => this.log(`Error: ${describeError(err)}`, "error"));
    });
    this.card.querySelector(".offline").addEventListener("change", (e) => {
      this.setOffline(e.currentTarget.checked).catch((err) => this.log(`Error: ${describeError(err)}`, "error"));
    });
    appsBox.append(this.card);
  }

  log(text, kind = "") {
    const list = this.card.querySelector(".log");
    list.append(el("li", { class: kind || undefined }, `${clock()} ${text}`));
    list.scrollTop = list.scrollHeight;
  }

  heard(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    const data = message?.data ?? {};
    switch (message?.type) {
      case "authenticated":
        this.log("Authentication successful", "ok");
        break;
      case "sync_notification":
        this.log(`Sync Notification: ${data.event} - ${data.message ?? ""}`, "notify");
        break;
      case "resync_required":
        this.log("Resync required: pulling from the last cursor", "notify");
        break;
      case "error":
        this.log(`Server error: ${data.code ?? "error"}: ${data.message ?? ""}`, "error");
        break;
      default:
        break;
    }
  }

  showStatus(s) {
    const badge = this.card.querySelector(".state");
    let text = "disconnected";
    let kind = "badge state";
    if (this.offline) {
      text = "offline";
      kind += " warn";
    } else if (s.connected) {
      text = "connected";
      kind += " ok";
    } else if (this.started) {
      text = "connecting";
      kind += " warn";
    }
    badge.textContent = text;
    badge.className = kind;
    this.card.querySelector(".pending").textContent = String(s.pending);
    updateSummary();
  }

  showRecords() {
    const records = this.client.peekAll("end_user") ?? [];
    this.card.querySelector(".records-count").textContent =
      records.length === 0 ? "no local records" : `${records.length} local record${records.length === 1 ? "" : "s"}`;
    this.card.querySelector(".records").replaceChildren(
      ...records.slice(-20).map((r) => el("li", { dataset: { id: r.id } }, `${label(r)}${r.email ? ` <${r.email}>` : ""}`)),
    );
  }

  async connect() {
    if (this.started || this.offline) return;
    this.started = true;
    this.showStatus(this.client.status);
    await this.client.start();
  }

  async disconnect() {
    if (!this.started) return;
    this.started = false;
    await this.client.stop();
    this.log("Disconnected");
    this.showStatus(this.client.status);
  }

  async setOffline(offline) {
    this.offline = offline;
    if (offline) {
      const wasStarted = this.started;
      await this.disconnect();
      this.resume = wasStarted;
      this.log("Offline: changes queue locally");
    } else {
      this.log("Online again");
      if (this.resume !== false) await this.connect();
      if ((await this.client.pending()) > 0) {
        this.log("Sending queued changes...");
        await this.client.sync();
        this.log("Data sent successfully", "ok");
      }
    }
    this.showStatus(this.client.status);
  }

  async send() {
    const form = this.card.querySelector("form.send");
    const data = Object.fromEntries(new FormData(form));
    const record = { name: String(data.name || "").trim() };
    if (!record.name) {
      this.log("A customer needs a name", "error");
      return;
    }
    if (String(data.email || "").trim()) record.email = String(data.email).trim();
    if (String(data.phone || "").trim()) record.phone = String(data.phone).trim();
    this.log(`Sending customer data: ${record.name}`);
    await this.client.put("end_user", record);
    this.showRecords();
    if (this.offline || !this.started) {
      this.log(`Queued while ${this.offline ? "offline" : "not connected"}: ${await this.client.pending()} pending`);
      return;
    }
    const rejections = this.rejections;
    await this.client.sync();
    if (this.rejections > rejections) this.log("Data not sent: the server refused it", "error");
    else this.log("Data sent successfully", "ok");
  }

  async pull() {
    if (this.offline) {
      this.log("Offline: nothing can be pulled", "error");
      return;
    }
    this.log("Pulling data from server...");
    await this.client.sync();
    const records = await this.client.list("end_user");
    const names = records.map(label);
    const shown = names.length > 5 ? `${names.slice(-5).join(", ")} and ${names.length - 5} more` : names.join(", ");
    this.log(`Data pulled: ${records.length} end_user record${records.length === 1 ? "" : "s"}${records.length ? ` (${shown})` : ""}`, "ok");
    this.showRecords();
  }
}

function updateSummary() {
  const connected = apps.filter((a) => a.client.status.connected).length;
  stateBox.textContent = `${connected} of ${apps.length} apps connected`;
}

function addApp() {
  const app = new App(apps.length + 1);
  apps.push(app);
  updateSummary();
  return app;
}

async function main() {
  auth = await startPage();
  if (auth.claims.client_id) {
    banner(
      `This token names the client \`${auth.claims.client_id}\`: the server takes it over each app's own clientId, ` +
      "so every app speaks as that one client. A token without a client_id claim shows the flow as intended.",
      "info",
    );
  }
  for (let i = 0; i < 3; i++) addApp();
  document.getElementById("connect-all").addEventListener("click", () => {
    for (const app of apps) app.connect().catch((e) => app.log(`Error: ${describeError(e)}`, "error"));
  });
  document.getElementById("disconnect-all").addEventListener("click", () => {
    for (const app of apps) app.disconnect().catch((e) => app.log(`Error: ${describeError(e)}`, "error"));
  });
  document.getElementById("add-app").addEventListener("click", () => addApp());
  document.getElementById("clear-logs").addEventListener("click", () => {
    for (const log of document.querySelectorAll(".log")) log.replaceChildren();
  });
}

main().catch((e) => banner(`The playground could not start: ${describeError(e)}`));
