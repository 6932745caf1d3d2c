//! Configuration: defaults, then a TOML file, then `SYNCD_*` environment variables (SPEC §9).
//! Problems are reported as `FILE:LINE: problem`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use syncd_core::EngineConfig;
use syncd_model::{ConfigError, Limits};

/// A secret whose Debug output is redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub bind: String,
    /// How long shutdown waits for in-flight requests, in seconds.
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            shutdown_timeout_secs: 30,
            workers: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://syncd.db?mode=rwc".into(),
            max_connections: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 secret.
    pub jwt_secret: Option<Secret>,
    /// PEM public key for RS256 or ES256.
    pub jwt_public_key_file: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSettings {
    pub default_strategy: String,
    pub history_days: u32,
    pub entities_file: Option<PathBuf>,
    /// Per entity type strategy.
    pub strategies: HashMap<String, String>,
    /// Client clocks further ahead than this are clamped (last-write-wins, field-merge).
    pub max_clock_skew_secs: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            default_strategy: "field-merge".into(),
            history_days: 30,
            entities_file: None,
            strategies: HashMap::new(),
            max_clock_skew_secs: 300,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSettings {
    pub max_body_bytes: usize,
    pub max_changes_per_push: usize,
    pub max_pull_limit: usize,
    pub max_json_depth: usize,
    pub max_string_bytes: usize,
    pub requests_per_second: u32,
    pub burst: u32,
    pub ws_frame_bytes: usize,
    pub ws_connections_per_tenant: usize,
    pub ws_connections_per_client: usize,
    /// Events a WebSocket connection may have queued before it is told to resync.
    pub ws_queue_events: usize,
}

impl Default for LimitsSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_changes_per_push: 1000,
            max_pull_limit: 10_000,
            max_json_depth: 32,
            max_string_bytes: 64 * 1024,
            requests_per_second: 100,
            burst: 200,
            ws_frame_bytes: 64 * 1024,
            ws_connections_per_tenant: 10_000,
            ws_connections_per_client: 10,
            ws_queue_events: 1024,
        }
    }
}

/// Everything `syncd serve` needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub env: Environment,
    /// A tracing filter, e.g. `info,sqlx=warn`.
    pub log: Option<String>,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub sync: SyncSettings,
    pub limits: LimitsSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            log: None,
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            auth: AuthSettings::default(),
            sync: SyncSettings::default(),
            limits: LimitsSettings::default(),
        }
    }
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A problem in a file, at a line.
    #[error(transparent)]
    File(#[from] ConfigError),
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// An environment variable with a bad value.
    #[error("environment variable {name}: {problem}")]
    Env { name: &'static str, problem: String },
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    /// Defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut settings = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
    }

    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            file: name.clone(),
            source,
        })?;
        Self::from_toml(&name, &text)
    }

    pub fn from_toml(file: &str, text: &str) -> Result<Self, SettingsError> {
        toml::from_str(text)
            .map_err(|e| SettingsError::File(ConfigError::from_toml(file, text, &e)))
    }

    /// Applies `SYNCD_*` overrides read through `var`.
    pub fn apply_env(
        &mut self,
        var: impl Fn(&'static str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        if let Some(v) = var("SYNCD_BIND") {
            self.server.bind = v;
        }
        if let Some(v) = var("SYNCD_DATABASE_URL") {
            self.database.url = v;
        }
        if let Some(v) = var("SYNCD_JWT_SECRET") {
            self.auth.jwt_secret = Some(Secret::new(v));
        }
        if let Some(v) = var("SYNCD_ENV") {
            self.env = match v.as_str() {
                "production" => Environment::Production,
                "development" => Environment::Development,
                other => {
                    return Err(SettingsError::Env {
                        name: "SYNCD_ENV",
                        problem: format!("`{other}` is neither development nor production"),
                    });
                }
            };
        }
        if let Some(v) = var("SYNCD_LOG") {
            self.log = Some(v);
        }
        if let Some(v) = var("SYNCD_ENTITIES_FILE") {
            self.sync.entities_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("SYNCD_DEFAULT_STRATEGY") {
            self.sync.default_strategy = v;
        }
        Ok(())
    }

    /// The engine's part of the settings.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            default_strategy: self.sync.default_strategy.clone(),
            strategy_overrides: self.sync.strategies.clone(),
            history_days: self.sync.history_days,
            max_changes_per_push: self.limits.max_changes_per_push,
            default_pull_limit: 1000.min(self.limits.max_pull_limit),
            max_pull_limit: self.limits.max_pull_limit,
            limits: Limits {
                max_depth: self.limits.max_json_depth,
                max_string_bytes: self.limits.max_string_bytes,
            },
            max_clock_skew_ms: i64::try_from(self.sync.max_clock_skew_secs)
                .unwrap_or(i64::MAX / 1000)
                .saturating_mul(1000),
            ..EngineConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_config_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let mut s = Settings::from_toml(
            "syncd.toml",
            "[server]\nbind = \"0.0.0.0:9000\"\n[sync]\ndefault_strategy = \"server-wins\"\n[sync.strategies]\ninteractions = \"manual\"\n",
        )
        .unwrap();
        assert_eq!(s.server.bind, "0.0.0.0:9000");
        assert_eq!(s.sync.strategies["interactions"], "manual");
        s.apply_env(|name| (name == "SYNCD_DEFAULT_STRATEGY").then(|| "merge".to_owned()))
            .unwrap();
        assert_eq!(s.sync.default_strategy, "merge");
        assert_eq!(s.database.url, "sqlite://syncd.db?mode=rwc");
    }

    #[test]
    fn a_bad_config_file_is_reported_with_file_and_line() {
        let err = Settings::from_toml(
            "conf.toml",
            "[server]\nbind = \"x\"\n\n[limits]\nburst = \"many\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("conf.toml:5: "), "{err}");
        let err = Settings::from_toml("conf.toml", "[server]\nbindd = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("conf.toml:2: "), "{err}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let mut s = Settings::default();
        s.auth.jwt_secret = Some(Secret::new("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
