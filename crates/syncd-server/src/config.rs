//! Configuration: defaults, then a TOML file, then `SYNCD_*` environment variables (SPEC §9),
//! layered by figment. Problems are reported as `FILE:LINE: problem`.
//!
//! Every key of the file can be set from the environment by one rule: `SYNCD_SECTION__KEY`
//! (two underscores between the levels, any case), e.g. `SYNCD_LIMITS__BURST=400` or
//! `SYNCD_SYNC__STRATEGIES__END_USER=manual`. The seven names of SPEC §9 stay as aliases
//! (`SYNCD_BIND`, `SYNCD_DATABASE_URL`, `SYNCD_JWT_SECRET`, `SYNCD_ENV`, `SYNCD_LOG`,
//! `SYNCD_ENTITIES_FILE`, `SYNCD_DEFAULT_STRATEGY`); the `__` form wins over an alias for the same
//! key. Other `SYNCD_*` variables without `__` (e.g. `SYNCD_CONFIG`) are not configuration keys.
//! Values are read as text and converted to the key's type (`"400"` to a number, `"true"` to a
//! boolean), so a secret of digits stays text.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::Serialized;
use serde::{Deserialize, Serialize};
use syncd_core::EngineConfig;
use syncd_model::{ConfigError, Limits};

/// A secret whose Debug output is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub bind: String,
    /// How long shutdown waits for in-flight requests, in seconds.
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// How long a client may take to send a request's head (actix's `client_request_timeout`);
    /// past it → 408.
    pub header_timeout_ms: u64,
    /// How long a client may take to send a request's whole body once the head is in; past it →
    /// 408 `request_timeout` and the connection is closed.
    pub body_timeout_ms: u64,
    /// Client connections held at once (HTTP and WebSocket), lowered at start to what the
    /// open-file limit leaves; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            shutdown_timeout_secs: 30,
            workers: 0,
            header_timeout_ms: 5_000,
            body_timeout_ms: 10_000,
            max_connections: 10_000,
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection (connecting included) before it is
    /// answered 503.
    pub acquire_timeout_ms: u64,
    /// How long a request waits for each database step (a query, BEGIN, a write, COMMIT) once it
    /// has a connection before it is answered 503; also PostgreSQL's `lock_timeout`.
    pub statement_timeout_ms: u64,
}

/// The URL's password is redacted: settings are logged at start.
impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .finish()
    }
}

/// The database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://syncd.db?mode=rwc".into(),
            max_connections: 16,
            acquire_timeout_ms: 2_000,
            statement_timeout_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 secret.
    pub jwt_secret: Option<Secret>,
    /// PEM public key for RS256 or ES256.
    pub jwt_public_key_file: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSettings {
    pub default_strategy: String,
    pub history_days: u32,
    pub entities_file: Option<PathBuf>,
    /// Per entity type strategy.
    pub strategies: HashMap<String, String>,
    /// Client clocks further ahead than this are clamped (last-write-wins, field-merge).
    pub max_clock_skew_secs: u64,
    /// Days (fractions allowed) a tombstone keeps its data before maintenance thins it.
    pub tombstone_days: f64,
    /// Days thin tombstones are kept (fractions allowed); 0 = forever.
    pub tombstone_retention_days: f64,
    /// Seconds between background maintenance runs; 0 = none (run `syncd maintenance`).
    pub maintenance_interval_secs: u64,
    /// Rows per maintenance batch.
    pub maintenance_batch: usize,
    /// Group commit: the most changes one transaction of a tenant's queued pushes applies;
    /// 0 = every push in a transaction of its own.
    pub group_commit_changes: usize,
    /// Visibility rules by entity type, for types not declared in the entities file (the
    /// built-in ones): `[sync.visibility.end_user]` (SPEC §11).
    pub visibility: BTreeMap<String, crate::visibility::VisibilitySettings>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            default_strategy: "field-merge".into(),
            history_days: 30,
            entities_file: None,
            strategies: HashMap::new(),
            max_clock_skew_secs: 300,
            tombstone_days: 90.0,
            tombstone_retention_days: 0.0,
            maintenance_interval_secs: 3600,
            maintenance_batch: 1000,
            group_commit_changes: 100,
            visibility: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    Env { name: String, problem: String },
    #[error("{0}")]
    Invalid(String),
}

/// The seven environment names of SPEC §9 and the keys they set.
const ALIASES: [(&str, &str); 7] = [
    ("SYNCD_BIND", "server.bind"),
    ("SYNCD_DATABASE_URL", "database.url"),
    ("SYNCD_JWT_SECRET", "auth.jwt_secret"),
    ("SYNCD_ENV", "env"),
    ("SYNCD_LOG", "log"),
    ("SYNCD_ENTITIES_FILE", "sync.entities_file"),
    ("SYNCD_DEFAULT_STRATEGY", "sync.default_strategy"),
];

/// The configuration key an environment variable sets, if it sets one.
fn env_key(name: &str) -> Option<String> {
    if let Some((_, key)) = ALIASES.iter().find(|(alias, _)| *alias == name) {
        return Some((*key).to_owned());
    }
    let rest = name.strip_prefix("SYNCD_")?;
    rest.contains("__").then(|| {
        rest.split("__")
            .collect::<Vec<_>>()
            .join(".")
            .to_ascii_lowercase()
    })
}

impl Settings {
    /// Defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let base = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        base.with_env(std::env::vars())
    }

    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            file: name.clone(),
            source,
        })?;
        Self::from_toml(&name, &text)
    }

    /// The file alone, parsed strictly (unknown keys and wrong types are errors with the file
    /// and line).
    pub fn from_toml(file: &str, text: &str) -> Result<Self, SettingsError> {
        toml::from_str(text)
            .map_err(|e| SettingsError::File(ConfigError::from_toml(file, text, &e)))
    }

    /// These settings overridden by the `SYNCD_*` variables among `vars` (see the module doc).
    pub fn with_env(
        &self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut keyed: Vec<(String, String, String)> = vars
            .into_iter()
            .filter_map(|(name, value)| env_key(&name).map(|key| (key, name, value)))
            .collect();
        // Aliases first, so that the `SECTION__KEY` form of the same key wins.
        keyed.sort_by_key(|(_, name, _)| !ALIASES.iter().any(|(alias, _)| alias == name));
        let mut figment = Figment::from(Serialized::defaults(self));
        for (key, _, value) in &keyed {
            figment = figment.merge(Serialized::default(key, value));
        }
        figment.extract_lossy().map_err(|e| {
            let path = e.path.join(".");
            let name = keyed
                .iter()
                .rev()
                .find(|(key, _, _)| {
                    path == *key || path.starts_with(&format!("{key}.")) || key.starts_with(&path)
                })
                .map_or_else(|| "SYNCD_*".to_owned(), |(_, name, _)| name.clone());
            SettingsError::Env {
                name,
                problem: e.kind.to_string(),
            }
        })
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
            tombstone_ms: syncd_core::days_to_ms(self.sync.tombstone_days),
            tombstone_retention_ms: syncd_core::days_to_ms(self.sync.tombstone_retention_days),
            maintenance_batch: self.sync.maintenance_batch.max(1),
            group_commit_changes: self.sync.group_commit_changes,
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
        let s = Settings::from_toml(
            "syncd.toml",
            "[server]\nbind = \"0.0.0.0:9000\"\n[sync]\ndefault_strategy = \"server-wins\"\n[sync.strategies]\ninteractions = \"manual\"\n",
        )
        .unwrap();
        assert_eq!(s.server.bind, "0.0.0.0:9000");
        assert_eq!(s.sync.strategies["interactions"], "manual");
        let s = s
            .with_env([("SYNCD_DEFAULT_STRATEGY".to_owned(), "merge".to_owned())])
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
        s.database.url = "postgres://app:swordfish@db/sync".into();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("swordfish"), "{shown}");
        assert!(shown.contains("postgres://app:***@db/sync"), "{shown}");
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_key_can_be_set_from_the_environment_by_one_rule() {
        let s = Settings::default()
            .with_env(env(&[
                ("SYNCD_LIMITS__BURST", "400"),
                ("SYNCD_SERVER__WORKERS", "3"),
                ("SYNCD_SYNC__STRATEGIES__END_USER", "manual"),
                ("SYNCD_AUTH__JWT_SECRET", "12345"),
                ("SYNCD_ENV", "production"),
                ("SYNCD_CONFIG", "ignored.toml"),
                ("SYNCD_TEST_DATABASE_URL", "postgres://not-a-key"),
                ("OTHER__VAR", "x"),
            ]))
            .unwrap();
        assert_eq!(s.limits.burst, 400);
        assert_eq!(s.server.workers, 3);
        assert_eq!(s.sync.strategies["end_user"], "manual");
        assert_eq!(
            s.auth.jwt_secret.as_ref().map(Secret::expose),
            Some("12345")
        );
        assert_eq!(s.env, Environment::Production);
    }

    #[test]
    fn the_section_key_form_wins_over_an_alias() {
        let s = Settings::default()
            .with_env(env(&[
                ("SYNCD_SERVER__BIND", "127.0.0.1:2"),
                ("SYNCD_BIND", "127.0.0.1:1"),
            ]))
            .unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:2");
    }

    #[test]
    fn a_bad_environment_value_names_its_variable() {
        let err = Settings::default()
            .with_env(env(&[("SYNCD_LIMITS__BURST", "many")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("environment variable SYNCD_LIMITS__BURST:"),
            "{err}"
        );
        let err = Settings::default()
            .with_env(env(&[("SYNCD_ENV", "staging")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("environment variable SYNCD_ENV:"), "{err}");
        let err = Settings::default()
            .with_env(env(&[("SYNCD_LIMITS__NOPE", "1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SYNCD_LIMITS__NOPE"), "{err}");
    }
}
