//! The `syncd` binary: parses the command line and hands over to `syncd-server`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use syncd_server::commands::{self, TokenArgs};
use syncd_server::lifecycle::{self, EraseTarget, ResetScope};

// A push builds and frees many small JSON maps; mimalloc handles that pattern far better than
// the system allocator (measured in docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Multi-tenant data sync server")]
struct Cli {
    /// Configuration file (TOML); also SYNCD_CONFIG.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print a signed bearer token.
    Token {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        sub: String,
        #[arg(long)]
        client_id: Option<String>,
        /// Lifetime: 90s, 15m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = commands::parse_duration)]
        ttl: i64,
        /// Space-separated scopes, e.g. "sync:read sync:write:end_user".
        #[arg(long)]
        scope: Option<String>,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Validate the configuration and entities file, then exit.
    CheckConfig,
    /// Start a new sync epoch: every app pulls from the start (after restoring a backup).
    ResetSync {
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        tenant: Option<String>,
        /// Every tenant, those created later included.
        #[arg(long)]
        all: bool,
    },
    /// Run maintenance once (purges, tombstone thinning) and print the counts.
    Maintenance,
    /// Erase a record for good (a thin tombstone stays), or a whole tenant.
    Erase {
        #[arg(long)]
        tenant: String,
        #[arg(long = "type", requires = "id")]
        entity_type: Option<String>,
        #[arg(long, requires = "entity_type")]
        id: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match commands::load_settings(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => return fail(&e),
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(settings).await,
        Command::Migrate => commands::migrate(settings).await,
        Command::Token {
            tenant,
            sub,
            client_id,
            ttl,
            scope,
            roles,
        } => {
            let args = TokenArgs {
                tenant,
                sub,
                client_id,
                ttl_secs: ttl,
                scope,
                roles,
            };
            commands::token(settings, args).map(|token| println!("{token}"))
        }
        Command::CheckConfig => commands::check_config(&settings)
            .map(|r| println!("configuration OK: {} entity types", r.len())),
        Command::ResetSync { tenant, .. } => reset_sync(settings, tenant).await,
        Command::Maintenance => lifecycle::maintenance(settings)
            .await
            .map(|lines| lines.iter().for_each(|l| println!("{l}"))),
        Command::Erase {
            tenant,
            entity_type,
            id,
        } => erase(settings, tenant, entity_type.zip(id)).await,
    };
    result.map_or_else(|e| fail(&e), |()| ExitCode::SUCCESS)
}

async fn reset_sync(
    settings: syncd_server::Settings,
    tenant: Option<String>,
) -> Result<(), syncd_server::StartupError> {
    let scope = match tenant {
        Some(tenant) => ResetScope::Tenant(lifecycle::tenant_arg(&tenant)?),
        None => ResetScope::All,
    };
    for line in lifecycle::reset_sync(settings, scope).await? {
        println!("{line}");
    }
    Ok(())
}

async fn erase(
    settings: syncd_server::Settings,
    tenant: String,
    record: Option<(String, String)>,
) -> Result<(), syncd_server::StartupError> {
    let tenant = lifecycle::tenant_arg(&tenant)?;
    let target = match record {
        Some((entity_type, id)) => EraseTarget::Record { entity_type, id },
        None => EraseTarget::Tenant,
    };
    for line in lifecycle::erase(settings, tenant, target).await? {
        println!("{line}");
    }
    Ok(())
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("syncd: {}", syncd_server::error::error_chain(error));
    ExitCode::FAILURE
}
