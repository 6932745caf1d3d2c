//! Drives a running syncd with simulated apps and prints a summary (and JSON with `--json`).
//!
//! Every loop has a fixed count and every wait a timeout; it talks to the URL it is given, which
//! the benchmark script sets to a loopback address.

mod scenarios;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Load generator for syncd")]
struct Cli {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The server's HS256 secret (tokens are signed here).
    #[arg(long, env = "SYNCD_JWT_SECRET")]
    secret: String,
    /// Tenant to use; default: a fresh one per run.
    #[arg(long)]
    tenant: Option<String>,
    /// Also write the result as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Give up on the whole scenario after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Clone)]
pub enum Scenario {
    /// N concurrent apps push batches of five-field end_user records.
    Push {
        #[arg(long, default_value_t = 4)]
        apps: usize,
        #[arg(long, default_value_t = 25)]
        batches: usize,
        #[arg(long, default_value_t = 100)]
        batch_size: usize,
        /// Spread the apps over this many tenants (one tenant's writes are serialised).
        #[arg(long, default_value_t = 1)]
        tenants: usize,
    },
    /// Loads records, then pages through them with the given page size, `rounds` times.
    Pull {
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        #[arg(long, default_value_t = 10_000)]
        page: usize,
        /// Read everything this many times; the summary gives the median round and the first.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
    },
    /// One writer, one WebSocket listener: write start → event, per trial.
    Notify {
        #[arg(long, default_value_t = 200)]
        trials: usize,
        /// Meanwhile this many other apps of the tenant push batches of 100 records.
        #[arg(long, default_value_t = 0)]
        background: usize,
    },
    /// Many listeners, one write: write start → every listener notified.
    Fanout {
        #[arg(long, default_value_t = 100)]
        listeners: usize,
        #[arg(long, default_value_t = 10)]
        rounds: usize,
    },
    /// Many authenticated idle WebSocket connections: server memory per connection.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// The server's process id, to read its resident memory.
        #[arg(long)]
        server_pid: u32,
    },
    /// One app pushing small batches at a steady pace: the latency of each push, while a
    /// marker file exists (what runs beside the server meanwhile is the script's choice).
    Steady {
        #[arg(long, default_value_t = 10)]
        batch_size: usize,
        #[arg(long, default_value_t = 20)]
        pause_ms: u64,
        /// Stop after this many seconds at the latest.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Push only while this file exists.
        #[arg(long)]
        while_file: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let tenant = cli
        .tenant
        .clone()
        .unwrap_or_else(|| format!("bench-{}", uuid::Uuid::new_v4().simple()));
    let ctx = scenarios::Context::new(cli.url.clone(), cli.secret.clone(), tenant);
    let run = scenarios::run(&ctx, cli.scenario.clone());
    let result = match tokio::time::timeout(Duration::from_secs(cli.timeout_secs), run).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => {
            eprintln!("syncd-loadgen: {e}");
            return ExitCode::FAILURE;
        }
        Err(_) => {
            eprintln!("syncd-loadgen: gave up after {} s", cli.timeout_secs);
            return ExitCode::FAILURE;
        }
    };
    println!("{}", result.summary);
    if let Some(path) = cli.json {
        let text = serde_json::to_string_pretty(&result.json).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("syncd-loadgen: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
