//! The scenarios. Each returns a human summary and a JSON object.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::Scenario;
use crate::stats::Summary;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A pull answer as a client keeps it: each record's JSON as received, plus paging state.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PullPage {
    data: PullData,
    cursor: String,
    has_more: bool,
}

#[derive(serde::Deserialize)]
struct PullData {
    end_user: Vec<Box<serde_json::value::RawValue>>,
}

/// What a scenario measured.
pub struct Outcome {
    pub summary: String,
    pub json: Value,
}

/// Where and as whom the load is sent.
pub struct Context {
    url: String,
    secret: String,
    tenant: String,
    http: reqwest::Client,
}

const WAIT: Duration = Duration::from_secs(30);

impl Context {
    pub fn new(url: String, secret: String, tenant: String) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap_or_default();
        Self {
            url: url.trim_end_matches('/').to_owned(),
            secret,
            tenant,
            http,
        }
    }

    fn token(&self, sub: &str, client: &str) -> Result<String, Error> {
        self.token_for(&self.tenant, sub, client)
    }

    fn token_for(&self, tenant: &str, sub: &str, client: &str) -> Result<String, Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({ "sub": sub, "tenant_id": tenant, "client_id": client, "exp": now + 3600, "iat": now });
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret.as_bytes()),
        )?)
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> Result<Value, Error> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .timeout(WAIT)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            return Err(format!("{path}: HTTP {status}: {body}").into());
        }
        Ok(body)
    }

    /// Like `post`, returning the answer's bytes.
    async fn post_bytes(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<bytes::Bytes, Error> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .timeout(WAIT)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            return Err(
                format!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&bytes)).into(),
            );
        }
        Ok(bytes)
    }

    fn ws_url(&self, token: &str) -> String {
        let base = self
            .url
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        format!("{base}/api/client/sync/ws?token={token}")
    }
}

fn user(i: usize) -> Value {
    json!({
        "name": format!("User {i}"),
        "email": format!("user{i}@example.com"),
        "phone": format!("+1-555-{:04}", i % 10_000),
        "active": 1,
        "is_deleted": 0,
    })
}

fn batch(start: usize, size: usize) -> Value {
    let records: Vec<Value> = (start..start + size).map(user).collect();
    json!({ "changes": { "end_user": records } })
}

pub async fn run(ctx: &Context, scenario: Scenario) -> Result<Outcome, Error> {
    match scenario {
        Scenario::Push {
            apps,
            batches,
            batch_size,
            tenants,
        } => push(ctx, apps, batches, batch_size, tenants.max(1)).await,
        Scenario::Pull {
            records,
            page,
            rounds,
        } => pull(ctx, records, page, rounds.max(1)).await,
        Scenario::Notify { trials } => notify(ctx, trials).await,
        Scenario::Fanout { listeners, rounds } => fanout(ctx, listeners, rounds).await,
        Scenario::Idle {
            connections,
            server_pid,
        } => idle(ctx, connections, server_pid).await,
    }
}

async fn push(
    ctx: &Context,
    apps: usize,
    batches: usize,
    size: usize,
    tenants: usize,
) -> Result<Outcome, Error> {
    let ctx = Arc::new(Context::new(
        ctx.url.clone(),
        ctx.secret.clone(),
        ctx.tenant.clone(),
    ));
    // Warm-up: connections, statement caches.
    let warm = ctx.token("warm", "warm")?;
    ctx.post("/api/client/sync/push", &warm, &batch(0, size))
        .await?;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for app in 0..apps {
        let ctx = Arc::clone(&ctx);
        tasks.spawn(async move {
            // Apps are spread round-robin over the tenants.
            let tenant = match tenants {
                1 => ctx.tenant.clone(),
                _ => format!("{}-{}", ctx.tenant, app % tenants),
            };
            let token = ctx.token_for(&tenant, &format!("app-{app}"), &format!("app-{app}"))?;
            let mut latencies = Vec::with_capacity(batches);
            for b in 0..batches {
                let body = batch((app * batches + b) * size, size);
                let t = Instant::now();
                ctx.post("/api/client/sync/push", &token, &body).await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, Error>(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    let elapsed = started.elapsed();
    let records = apps * batches * size;
    let rate = records as f64 / elapsed.as_secs_f64();
    let per_batch = Summary::of(&latencies);
    Ok(Outcome {
        summary: format!(
            "push: {apps} apps ({tenants} tenant(s)) × {batches} batches × {size} records = {records} records in {:.2} s → {rate:.0} records/s\n  per batch: {}",
            elapsed.as_secs_f64(),
            per_batch.line()
        ),
        json: json!({ "scenario": "push", "apps": apps, "tenants": tenants, "batches": batches, "batch_size": size, "records": records,
                      "seconds": elapsed.as_secs_f64(), "records_per_second": rate, "batch_latency": per_batch.json() }),
    })
}

async fn pull(ctx: &Context, records: usize, page: usize, rounds: usize) -> Result<Outcome, Error> {
    let loader = ctx.token("loader", "loader")?;
    let chunk = 1000;
    let mut loaded = 0;
    while loaded < records {
        let n = chunk.min(records - loaded);
        ctx.post("/api/client/sync/push", &loader, &batch(loaded, n))
            .await?;
        loaded += n;
    }
    let reader = ctx.token("reader", "reader")?;
    // One warm-up read of a single record.
    ctx.post("/api/client/sync/pull", &reader, &json!({ "limit": 1 }))
        .await?;
    let mut totals = Vec::with_capacity(rounds);
    let mut pages = Vec::new();
    let mut transfer = std::time::Duration::ZERO;
    for _ in 0..rounds {
        let started = Instant::now();
        let mut cursor: Option<String> = None;
        let mut seen = 0usize;
        for _ in 0..(records / page.max(1) + 2) {
            let body = match &cursor {
                Some(c) => json!({ "cursor": c, "limit": page, "entityTypes": ["end_user"] }),
                None => json!({ "limit": page, "entityTypes": ["end_user"] }),
            };
            let t = Instant::now();
            let bytes = ctx
                .post_bytes("/api/client/sync/pull", &reader, &body)
                .await?;
            transfer += t.elapsed();
            let page: PullPage = serde_json::from_slice(&bytes)?;
            pages.push(t.elapsed());
            seen += page.data.end_user.len();
            cursor = Some(page.cursor);
            if !page.has_more {
                break;
            }
        }
        totals.push(started.elapsed());
        if seen != records {
            return Err(format!("pulled {seen} records, expected {records}").into());
        }
    }
    let per_round = Summary::of(&totals);
    let per_page = Summary::of(&pages);
    let median_s = per_round.median / 1000.0;
    let first_s = totals.first().map_or(0.0, |d| d.as_secs_f64());
    Ok(Outcome {
        summary: format!(
            "pull: {records} records in pages of {page}, read {rounds} time(s): median {median_s:.3} s ({:.0} records/s), first {first_s:.3} s; {:.0} % of the time receiving, the rest parsing\n  per round: {}\n  per page: {}",
            records as f64 / median_s,
            100.0 * transfer.as_secs_f64()
                / totals.iter().sum::<std::time::Duration>().as_secs_f64(),
            per_round.line(),
            per_page.line()
        ),
        json: json!({ "scenario": "pull", "records": records, "page": page, "rounds": rounds, "seconds": median_s, "first_round_seconds": first_s,
                      "receiving_seconds": transfer.as_secs_f64(), "round_latency": per_round.json(), "page_latency": per_page.json() }),
    })
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects and waits for `authenticated`.
async fn listen(ctx: &Context, sub: &str, client: &str) -> Result<Ws, Error> {
    connect_authenticated(ctx.ws_url(&ctx.token(sub, client)?)).await
}

/// Opens a WebSocket and waits for its `authenticated` message.
async fn connect_authenticated(url: String) -> Result<Ws, Error> {
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await??;
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await?
            .ok_or("connection closed before authenticated")??;
        if let Message::Text(text) = message
            && text.contains("\"authenticated\"")
        {
            return Ok(ws);
        }
    }
}

/// `count` authenticated connections, subjects and clients `{prefix}-{i}`, opened `at_once` at
/// a time.
async fn connect_many(
    ctx: &Context,
    prefix: &str,
    count: usize,
    at_once: usize,
) -> Result<Vec<Ws>, Error> {
    let mut open = Vec::with_capacity(count);
    for chunk_start in (0..count).step_by(at_once.max(1)) {
        let mut connecting = JoinSet::new();
        for i in chunk_start..(chunk_start + at_once.max(1)).min(count) {
            let sub = format!("{prefix}-{i}");
            connecting.spawn(connect_authenticated(ctx.ws_url(&ctx.token(&sub, &sub)?)));
        }
        while let Some(ws) = connecting.join_next().await {
            open.push(ws??);
        }
    }
    Ok(open)
}

/// Forwards the arrival time of every `sync_notification` to `tx`.
fn forward_notifications(
    mut ws: Ws,
    tx: mpsc::UnboundedSender<Instant>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(text)
                    if text.contains("\"sync_notification\"")
                        && tx.send(Instant::now()).is_err() =>
                {
                    break;
                }
                Message::Ping(p) => {
                    let _ = ws.send(Message::Pong(p)).await;
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    })
}

async fn notify(ctx: &Context, trials: usize) -> Result<Outcome, Error> {
    let ws = listen(ctx, "listener", "listener").await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = forward_notifications(ws, tx);
    let writer = ctx.token("writer", "writer")?;
    let mut to_event = Vec::with_capacity(trials);
    let mut to_response = Vec::with_capacity(trials);
    for i in 0..trials + 5 {
        let body = json!({ "table": "end_user", "operation": "create", "data": user(i) });
        let t0 = Instant::now();
        ctx.post("/api/client/sync/push", &writer, &body).await?;
        let responded = t0.elapsed();
        let arrived = tokio::time::timeout(WAIT, rx.recv())
            .await?
            .ok_or("listener closed")?;
        // The first few trials warm up connections and caches.
        if i >= 5 {
            to_response.push(responded);
            to_event.push(arrived.saturating_duration_since(t0));
        }
    }
    task.abort();
    let event = Summary::of(&to_event);
    let response = Summary::of(&to_response);
    Ok(Outcome {
        summary: format!(
            "notify: write start → event: {}\n  write start → HTTP response: {}",
            event.line(),
            response.line()
        ),
        json: json!({ "scenario": "notify", "trials": trials, "write_start_to_event": event.json(), "write_start_to_response": response.json() }),
    })
}

async fn fanout(ctx: &Context, listeners: usize, rounds: usize) -> Result<Outcome, Error> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tasks: Vec<_> = connect_many(ctx, "listener", listeners, 100)
        .await?
        .into_iter()
        .map(|ws| forward_notifications(ws, tx.clone()))
        .collect();
    let writer = ctx.token("writer", "writer")?;
    let mut first = Vec::new();
    let mut median = Vec::new();
    let mut last = Vec::new();
    for round in 0..rounds + 1 {
        let body = json!({ "table": "end_user", "operation": "create", "data": user(round) });
        let t0 = Instant::now();
        ctx.post("/api/client/sync/push", &writer, &body).await?;
        let mut arrivals = Vec::with_capacity(listeners);
        while arrivals.len() < listeners {
            let at = tokio::time::timeout(WAIT, rx.recv())
                .await?
                .ok_or("a listener closed")?;
            arrivals.push(at.saturating_duration_since(t0));
        }
        arrivals.sort();
        if round > 0 {
            first.push(arrivals[0]);
            median.push(arrivals[arrivals.len() / 2]);
            last.push(arrivals[arrivals.len() - 1]);
        }
    }
    for task in tasks {
        task.abort();
    }
    let (first, median, last) = (
        Summary::of(&first),
        Summary::of(&median),
        Summary::of(&last),
    );
    Ok(Outcome {
        summary: format!(
            "fanout to {listeners} listeners, {rounds} rounds, write start → listener notified:\n  first: {}\n  median listener: {}\n  last (all notified): {}",
            first.line(),
            median.line(),
            last.line()
        ),
        json: json!({ "scenario": "fanout", "listeners": listeners, "rounds": rounds,
                      "first": first.json(), "median_listener": median.json(), "all_notified": last.json() }),
    })
}

fn rss_kib(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/<pid>/status".into())
}

async fn idle(ctx: &Context, connections: usize, pid: u32) -> Result<Outcome, Error> {
    // A few connections first, so one-time allocations are not counted per connection.
    let mut warm = Vec::new();
    for i in 0..10 {
        warm.push(listen(ctx, &format!("warm-{i}"), &format!("warm-{i}")).await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let open = connect_many(ctx, "idle", connections, 200).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid)?;
    let per = (after.saturating_sub(before)) as f64 / connections as f64;
    let opened = open.len();
    drop(open);
    drop(warm);
    Ok(Outcome {
        summary: format!(
            "idle: {opened} authenticated WebSocket connections: server RSS {before} KiB → {after} KiB = {per:.1} KiB per connection"
        ),
        json: json!({ "scenario": "idle", "connections": opened, "rss_before_kib": before, "rss_after_kib": after, "kib_per_connection": per }),
    })
}
