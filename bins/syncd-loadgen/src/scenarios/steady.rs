//! One app pushing small batches at a steady pace, for as long as a marker file exists: the push
//! latency a client sees while something else runs beside the server (e.g. `syncd maintenance`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Context, Error, Outcome, batch};
use crate::stats::Summary;

/// Pushes batches of `size` records one after another, `pause` apart, while `while_file`
/// exists (always when it is `None`), for at most `seconds`.
pub(super) async fn steady(
    ctx: &Context,
    size: usize,
    pause: Duration,
    seconds: u64,
    while_file: Option<&Path>,
) -> Result<Outcome, Error> {
    let token = ctx.token("steady", "steady")?;
    // Warm-up: connection and statement caches.
    ctx.post("/api/client/sync/push", &token, &batch(0, size))
        .await?;
    let limit = Duration::from_secs(seconds);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut next = size;
    while started.elapsed() < limit && while_file.is_none_or(Path::exists) {
        let body = batch(next, size);
        next += size;
        let t = Instant::now();
        ctx.post("/api/client/sync/push", &token, &body).await?;
        latencies.push(t.elapsed());
        tokio::time::sleep(pause).await;
    }
    let elapsed = started.elapsed();
    let per_push = Summary::of(&latencies);
    Ok(Outcome {
        summary: format!(
            "steady: {} pushes of {size} records over {:.2} s, {} ms apart\n  per push: {}",
            latencies.len(),
            elapsed.as_secs_f64(),
            pause.as_millis(),
            per_push.line()
        ),
        json: json!({ "scenario": "steady", "batch_size": size, "pushes": latencies.len(),
                      "pause_ms": pause.as_millis() as u64, "seconds": elapsed.as_secs_f64(),
                      "push_latency": per_push.json() }),
    })
}
