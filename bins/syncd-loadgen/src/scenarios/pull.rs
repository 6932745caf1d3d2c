//! Paging through a tenant's records.

use std::time::Instant;

use serde_json::json;

use super::{Context, Error, Outcome, batch};
use crate::stats::Summary;

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

pub(super) async fn pull(
    ctx: &Context,
    records: usize,
    page: usize,
    rounds: usize,
) -> Result<Outcome, Error> {
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
