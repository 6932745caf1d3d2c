//! The scenarios, one module per kind (pushing, pulling, WebSocket). Each returns a human
//! summary and a JSON object.

mod pull;
mod push;
mod steady;
mod ws;

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::Scenario;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a scenario measured.
pub struct Outcome {
    pub summary: String,
    pub json: Value,
}

/// Where and as whom the load is sent.
pub struct Context {
    url: String,
    secret: String,
    tenant: String,
    http: reqwest::Client,
}

pub(super) const WAIT: Duration = Duration::from_secs(30);

impl Context {
    pub fn new(url: String, secret: String, tenant: String) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap_or_default();
        Self {
            url: url.trim_end_matches('/').to_owned(),
            secret,
            tenant,
            http,
        }
    }

    /// Another handle on the same server and tenant, for tasks of their own.
    fn clone_shared(&self) -> Self {
        Self::new(self.url.clone(), self.secret.clone(), self.tenant.clone())
    }

    pub(super) fn token(&self, sub: &str, client: &str) -> Result<String, Error> {
        self.token_for(&self.tenant, sub, client)
    }

    pub(super) fn token_for(&self, tenant: &str, sub: &str, client: &str) -> Result<String, Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({ "sub": sub, "tenant_id": tenant, "client_id": client, "exp": now + 3600, "iat": now });
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret.as_bytes()),
        )?)
    }

    pub(super) async fn post(&self, path: &str, token: &str, body: &Value) -> Result<Value, Error> {
        let bytes = self.post_bytes(path, token, body).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// POSTs `body`; the answer's bytes, or an error naming the status and the body.
    pub(super) async fn post_bytes(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<bytes::Bytes, Error> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .timeout(WAIT)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            return Err(
                format!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&bytes)).into(),
            );
        }
        Ok(bytes)
    }

    pub(super) fn ws_url(&self, token: &str) -> String {
        let base = self
            .url
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        format!("{base}/api/client/sync/ws?token={token}")
    }
}

pub(super) fn user(i: usize) -> Value {
    json!({
        "name": format!("User {i}"),
        "email": format!("user{i}@example.com"),
        "phone": format!("+1-555-{:04}", i % 10_000),
        "active": 1,
        "is_deleted": 0,
    })
}

pub(super) fn batch(start: usize, size: usize) -> Value {
    let records: Vec<Value> = (start..start + size).map(user).collect();
    json!({ "changes": { "end_user": records } })
}

pub async fn run(ctx: &Context, scenario: Scenario) -> Result<Outcome, Error> {
    match scenario {
        Scenario::Push {
            apps,
            batches,
            batch_size,
            tenants,
        } => push::push(ctx, apps, batches, batch_size, tenants.max(1)).await,
        Scenario::Pull {
            records,
            page,
            rounds,
        } => pull::pull(ctx, records, page, rounds.max(1)).await,
        Scenario::Notify { trials, background } => ws::notify(ctx, trials, background).await,
        Scenario::Fanout { listeners, rounds } => ws::fanout(ctx, listeners, rounds).await,
        Scenario::Idle {
            connections,
            server_pid,
        } => ws::idle(ctx, connections, server_pid).await,
        Scenario::Steady {
            batch_size,
            pause_ms,
            seconds,
            while_file,
        } => {
            let pause = Duration::from_millis(pause_ms);
            steady::steady(ctx, batch_size, pause, seconds, while_file.as_deref()).await
        }
    }
}
