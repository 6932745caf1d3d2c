//! Latency summaries.

use std::time::Duration;

use serde_json::{Value, json};

/// Median, p90, p99 and extremes of a set of durations, in milliseconds.
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            if ms.is_empty() {
                return f64::NAN;
            }
            let i = ((ms.len() as f64 - 1.0) * q).round() as usize;
            ms[i.min(ms.len() - 1)]
        };
        Self {
            count: ms.len(),
            min: pick(0.0),
            median: pick(0.5),
            p90: pick(0.9),
            p99: pick(0.99),
            max: pick(1.0),
        }
    }

    pub fn json(&self) -> Value {
        json!({ "count": self.count, "min_ms": self.min, "median_ms": self.median, "p90_ms": self.p90, "p99_ms": self.p99, "max_ms": self.max })
    }

    pub fn line(&self) -> String {
        format!(
            "n={} median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms (min {:.2}, max {:.2})",
            self.count, self.median, self.p90, self.p99, self.min, self.max
        )
    }
}
