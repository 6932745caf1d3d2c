//! Apps pushing batches of records: the push scenarios, and the pushers other scenarios run
//! in the background.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use super::{Context, Error, Outcome, batch};
use crate::stats::Summary;

pub(super) async fn push(
    ctx: &Context,
    apps: usize,
    batches: usize,
    size: usize,
    tenants: usize,
) -> Result<Outcome, Error> {
    let ctx = Arc::new(ctx.clone_shared());
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

/// Apps that push batches of `size` records into the context's tenant until `stop` is set (or
/// `max_batches` each), answering with every push's latency.
pub(super) fn background(
    ctx: &Context,
    apps: usize,
    size: usize,
    max_batches: usize,
    stop: Arc<AtomicBool>,
) -> JoinSet<Result<Vec<Duration>, Error>> {
    let ctx = Arc::new(ctx.clone_shared());
    let mut tasks = JoinSet::new();
    for app in 0..apps {
        let ctx = Arc::clone(&ctx);
        let stop = Arc::clone(&stop);
        tasks.spawn(async move {
            let name = format!("background-{app}");
            let token = ctx.token(&name, &name)?;
            let mut latencies = Vec::new();
            for b in 0..max_batches {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = batch(1_000_000_000 + (app * max_batches + b) * size, size);
                let t = Instant::now();
                ctx.post("/api/client/sync/push", &token, &body).await?;
                latencies.push(t.elapsed());
            }
            Ok(latencies)
        });
    }
    tasks
}
