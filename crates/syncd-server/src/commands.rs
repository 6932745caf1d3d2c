//! What each `syncd` subcommand does; the binary only parses arguments and calls these.

use syncd_model::{ClientId, Registry, SubjectId, TenantId};

use crate::auth::{self, AuthConfigError, Authenticator};
use crate::config::{Environment, Settings, SettingsError, redact_url};
use crate::startup::{self, StartupError};
use crate::{dev, telemetry};

/// `syncd serve`: runs the server until SIGTERM/SIGINT.
pub async fn serve(mut settings: Settings) -> Result<(), StartupError> {
    let dev_secret = dev::ensure_secret(&mut settings)?;
    if let Some(path) = &dev_secret {
        tracing::warn!(file = %path.display(), "no JWT secret configured: using the development secret");
    }
    let app = startup::build(settings.clone()).await?;
    tracing::info!(port = app.port(), database = %redact_url(&settings.database.url), "syncd started");
    if settings.env == Environment::Development
        && settings.auth.jwt_public_key_file.is_none()
        && let Some(banner) = dev::banner(&settings, app.port())
    {
        println!("{banner}");
    }
    app.run_until_stopped()
        .await
        .map_err(|source| StartupError::Bind {
            bind: settings.server.bind.clone(),
            source,
        })?;
    tracing::info!("syncd stopped");
    Ok(())
}

/// `syncd migrate`: applies pending migrations and exits.
pub async fn migrate(settings: Settings) -> Result<(), StartupError> {
    startup::open_store(&settings).await?;
    println!(
        "migrations applied to {}",
        redact_url(&settings.database.url)
    );
    Ok(())
}

/// Arguments of `syncd token`.
#[derive(Debug, Clone)]
pub struct TokenArgs {
    pub tenant: String,
    pub sub: String,
    pub client_id: Option<String>,
    pub ttl_secs: i64,
    pub scope: Option<String>,
    pub roles: Vec<String>,
}

/// `syncd token`: a signed token, alone on stdout.
pub fn token(mut settings: Settings, args: TokenArgs) -> Result<String, StartupError> {
    // The rules the server applies to a token's claims, so that a token it would refuse is
    // never printed.
    let invalid = |flag: &str, e: syncd_model::IdError| {
        StartupError::Settings(SettingsError::Invalid(format!("{flag}: {e}")))
    };
    TenantId::parse(args.tenant.as_str()).map_err(|e| invalid("--tenant", e))?;
    SubjectId::parse(args.sub.as_str()).map_err(|e| invalid("--sub", e))?;
    if let Some(client) = &args.client_id {
        ClientId::parse(client.as_str()).map_err(|e| invalid("--client-id", e))?;
    }
    dev::ensure_secret(&mut settings)?;
    let auth = Authenticator::new(&settings.auth, None)?;
    let token = auth.issue(auth::claims(
        &args.tenant,
        &args.sub,
        args.client_id,
        args.ttl_secs,
        args.scope,
        args.roles,
    ))?;
    Ok(token)
}

/// `syncd check-config`: validates the configuration and entities file without starting.
pub fn check_config(settings: &Settings) -> Result<Registry, StartupError> {
    let mut settings = settings.clone();
    // A development server would create its secret at start; checking must not fail for that.
    if settings.env == Environment::Development
        && settings.auth.jwt_secret.is_none()
        && settings.auth.jwt_public_key_file.is_none()
    {
        settings.auth.jwt_secret = Some(crate::config::Secret::new("check-config"));
    }
    startup::check(&settings)
}

/// Parses a lifetime as people write it (`90s`, `15m`, `24h`, `7d`, `1h 30m`, by humantime)
/// or plain seconds.
pub fn parse_duration(value: &str) -> Result<i64, String> {
    let value = value.trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => humantime::parse_duration(value)
            .map_err(|e| format!("`{value}` is not a duration such as 90s, 15m, 24h or 7d: {e}"))?
            .as_secs(),
    };
    i64::try_from(secs)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("`{value}` is out of range"))
}

/// Loads settings and installs logging: the shared start of every subcommand.
pub fn load_settings(file: Option<&std::path::Path>) -> Result<Settings, SettingsError> {
    let file = file
        .map(std::path::Path::to_path_buf)
        .or_else(|| std::env::var_os("SYNCD_CONFIG").map(std::path::PathBuf::from));
    let settings = Settings::load(file.as_deref())?;
    telemetry::init_tracing(
        settings.log.as_deref(),
        settings.env == Environment::Production,
    );
    Ok(settings)
}

impl From<AuthConfigError> for SettingsError {
    fn from(e: AuthConfigError) -> Self {
        SettingsError::Invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("90"), Ok(90));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("1h 30m"), Ok(5400));
    }

    #[test]
    fn database_passwords_are_not_logged() {
        assert_eq!(
            redact_url("postgres://syncd:hunter2@db:5432/syncd"),
            "postgres://syncd:***@db:5432/syncd"
        );
        assert_eq!(
            redact_url("sqlite://syncd.db?mode=rwc"),
            "sqlite://syncd.db?mode=rwc"
        );
    }
}
