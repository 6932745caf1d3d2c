//! WebSocket scenarios: notification latency (alone or while apps push), fan-out, idle
//! connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::{Context, Error, Outcome, WAIT, push, user};
use crate::stats::Summary;

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

/// Forwards the arrival time of every `sync_notification` to `tx` (only those of writes by
/// client `origin`, when given).
fn forward_notifications(
    mut ws: Ws,
    tx: mpsc::UnboundedSender<Instant>,
    origin: Option<&'static str>,
) -> tokio::task::JoinHandle<()> {
    let marker = origin.map(|o| format!("\"originClientId\":\"{o}\""));
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(text)
                    if text.contains("\"sync_notification\"")
                        && marker.as_ref().is_none_or(|m| text.contains(m.as_str()))
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

/// Write start → event of one writer's pushes, while `background` other apps of the tenant
/// push batches of 100 records as fast as they are answered.
pub(super) async fn notify(
    ctx: &Context,
    trials: usize,
    background: usize,
) -> Result<Outcome, Error> {
    let ws = listen(ctx, "listener", "listener").await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = forward_notifications(ws, tx, Some("writer"));
    let stop = Arc::new(AtomicBool::new(false));
    let mut pushers = push::background(ctx, background, 100, 100_000, Arc::clone(&stop));
    if background > 0 {
        // Let the background load reach its pace before measuring.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
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
    stop.store(true, Ordering::Relaxed);
    let mut background_pushes = Vec::new();
    while let Some(done) = pushers.join_next().await {
        background_pushes.extend(done??);
    }
    task.abort();
    let event = Summary::of(&to_event);
    let response = Summary::of(&to_response);
    let loaded = Summary::of(&background_pushes);
    let mut summary = format!(
        "notify{}: write start → event: {}\n  write start → HTTP response: {}",
        match background {
            0 => String::new(),
            n => format!(" while {n} apps push"),
        },
        event.line(),
        response.line()
    );
    if background > 0 {
        summary.push_str(&format!(
            "\n  background pushes of 100 records: {}",
            loaded.line()
        ));
    }
    Ok(Outcome {
        summary,
        json: json!({ "scenario": "notify", "trials": trials, "background_apps": background,
                      "write_start_to_event": event.json(), "write_start_to_response": response.json(),
                      "background_push_latency": loaded.json() }),
    })
}

pub(super) async fn fanout(
    ctx: &Context,
    listeners: usize,
    rounds: usize,
) -> Result<Outcome, Error> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tasks: Vec<_> = connect_many(ctx, "listener", listeners, 100)
        .await?
        .into_iter()
        .map(|ws| forward_notifications(ws, tx.clone(), None))
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

pub(super) async fn idle(ctx: &Context, connections: usize, pid: u32) -> Result<Outcome, Error> {
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
